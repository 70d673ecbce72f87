import { MYSQL_READY_TIMEOUT_SEC } from '../mysql/waitForServer.ts';
import { InfrastructureError } from '../util/errors.ts';
import { startLocalServer, waitForServer } from '../mysql/index.ts';
import type { DriverName } from '../suite/schema.ts';
import { collectEnvironment } from './environment.ts';
import { environmentWarnings } from './warnings.ts';
import { throwIfAborted, type Detections, type RunContext, type Target } from './context.ts';

/** The run's first steps: MySQL, the drivers, and the record of the environment. */

/**
 * MySQL: the server given (waited for), or a throwaway local one stopped at the end. Direct MySQL
 * becomes the first arm: the control every proxy is measured against.
 */
export async function provisionMysql(ctx: RunContext): Promise<{ mysql: Target; version: string }> {
  const { options, deps } = ctx;
  let mysql: Target;
  let version: string;
  if (options.mysql) {
    mysql = options.mysql;
    deps.progress.note(`waiting for MySQL at ${mysql.host}:${mysql.port}…`);
    version = (await waitForServer(mysql, options.mysqlReadyTimeoutMs ?? MYSQL_READY_TIMEOUT_SEC * 1000))
      .version;
  } else {
    deps.progress.note('starting a throwaway MySQL server…');
    const server = await startLocalServer();
    ctx.cleanup.add('stop the throwaway MySQL server', () => server.stop());
    const { host, port, user, password, database } = server;
    mysql = { host, port, user, password, database };
    version = server.version;
  }
  ctx.secrets.push(mysql.password);
  throwIfAborted(ctx);
  ctx.liveArms.push({
    record: { name: 'direct', role: 'direct', host: mysql.host, port: mysql.port },
    target: mysql,
    trafficCheck: false,
  });
  return { mysql, version };
}

/**
 * Each driver the suite uses, detected once: a missing binary skips its workloads (with the install
 * command), but a suite of which nothing can run fails — it must never pass empty.
 */
export async function detectDrivers(ctx: RunContext): Promise<Detections> {
  const { suite, deps } = ctx;
  const detections: Detections = new Map();
  for (const workload of suite.workloads) {
    if (!detections.has(workload.driver)) {
      detections.set(workload.driver, await deps.driverFor(workload.driver).detect(deps.exec));
    }
  }
  const missing = suite.workloads.filter((w) => !detections.get(w.driver)?.available);
  if (missing.length === suite.workloads.length) {
    const reasons = [...new Set(missing.map((w) => detections.get(w.driver)))].map((d) =>
      d && !d.available ? `${d.reason} Install: ${d.installHint}` : 'driver not detected',
    );
    throw new InfrastructureError(`no workload of the suite can run: ${reasons.join('; ')}`);
  }
  return detections;
}

/** The machine and software the numbers were measured on, and the warnings that follow from it. */
export async function recordEnvironment(
  ctx: RunContext,
  mysqlVersion: string,
  detections: Detections,
  valgrindVersion: string | null,
): Promise<void> {
  const version = (name: DriverName) => {
    const d = detections.get(name);
    return d?.available ? d.version : null;
  };
  ctx.environment = await collectEnvironment({
    mysqlVersion,
    sysbenchVersion: version('sysbench'),
    mysqlslapVersion: version('mysqlslap'),
    valgrindVersion,
    env: ctx.deps.env,
    exec: ctx.deps.exec,
  });
  ctx.warnings.push(...environmentWarnings(ctx.environment, ctx.options.suite));
  if (!ctx.hasProc && ctx.options.arms.length > 0) {
    ctx.warnings.push("No /proc on this system: the proxies' CPU µs/query and peak RSS were not measured.");
  }
}
