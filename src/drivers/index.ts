import type { DriverName } from '../suite/schema.ts';
import { createBuiltinDriver } from './builtin/driver.ts';
import { createMysqlslapDriver } from './mysqlslap/driver.ts';
import { createSysbenchDriver } from './sysbench/driver.ts';
import type { Driver } from './types.ts';

export type { Driver, DriverContext, DriverDetection, DriverRun, RunOptions, WorkloadOf } from './types.ts';
export {
  createSysbenchDriver,
  type SysbenchDriverOptions,
  type SysbenchWorkload,
} from './sysbench/driver.ts';
export { createMysqlslapDriver, AUTO_GENERATE_SCHEMA, type MysqlslapWorkload } from './mysqlslap/driver.ts';
export { createBuiltinDriver, BUILTIN_TABLE_PREFIX, type BuiltinWorkload } from './builtin/driver.ts';

const drivers: { [N in DriverName]?: Driver } = {};

/**
 * The driver for a workload's `driver` field (one instance per name, so `--version` detection is
 * cached for the whole run). Call it with workloads whose `driver` field is `name`.
 */
export function driverFor(name: DriverName): Driver {
  let driver = drivers[name];
  if (!driver) {
    switch (name) {
      case 'sysbench':
        driver = createSysbenchDriver();
        break;
      case 'mysqlslap':
        driver = createMysqlslapDriver();
        break;
      case 'builtin':
        driver = createBuiltinDriver();
        break;
    }
    drivers[name] = driver;
  }
  return driver;
}
