import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  parseProcStat,
  processTree,
  statusKb,
  treeCpuTicks,
  resetPeakRss,
  treeRssMb,
  type ProcFs,
} from './procfs.ts';

const statLine = (
  pid: number,
  comm: string,
  ppid: number,
  utime: number,
  stime: number,
  cutime = 0,
  cstime = 0,
) =>
  `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 100 1000 10\n`;

function fakeFs(files: Record<string, string>, writes: string[] = [], refuseWrites = false): ProcFs {
  return {
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT ${p}`);
      return text;
    },
    listDir: () => Object.keys(files).flatMap((p) => /^\/proc\/(\d+)\/stat$/.exec(p)?.slice(1) ?? []),
    writeFile: (p) => {
      if (refuseWrites) throw new Error('EACCES');
      writes.push(p);
    },
  };
}

test('parseProcStat reads ppid and all four CPU fields, whatever the command name', () => {
  const s = parseProcStat(statLine(42, 'node (worker) x', 7, 10, 5, 3, 2));
  assert.deepEqual(s, { pid: 42, ppid: 7, cpuTicks: 20 });
});

test('processTree follows descendants and ignores unrelated processes', () => {
  const fs = fakeFs({
    '/proc/10/stat': statLine(10, 'sh', 1, 1, 1),
    '/proc/11/stat': statLine(11, 'node', 10, 100, 50),
    '/proc/12/stat': statLine(12, 'worker', 11, 7, 3),
    '/proc/20/stat': statLine(20, 'other', 1, 999, 999),
  });
  assert.deepEqual(
    processTree(10, fs).map((p) => p.pid),
    [10, 11, 12],
  );
  assert.equal(treeCpuTicks(10, fs), 2 + 150 + 10);
  assert.equal(treeCpuTicks(99, fs), 0);
});

test('peak RSS sums VmHWM of the tree; reset writes 5 to each clear_refs and reports refusals', () => {
  const status = (hwm: number) => `Name:\tx\nVmHWM:\t  ${hwm} kB\nVmRSS:\t  ${hwm - 100} kB\n`;
  const files = {
    '/proc/10/stat': statLine(10, 'sh', 1, 1, 1),
    '/proc/11/stat': statLine(11, 'node', 10, 1, 1),
    '/proc/10/status': status(1024),
    '/proc/11/status': status(2048),
  };
  const writes: string[] = [];
  assert.equal(resetPeakRss(10, fakeFs(files, writes)), true);
  assert.deepEqual(writes, ['/proc/10/clear_refs', '/proc/11/clear_refs']);
  assert.equal(resetPeakRss(10, fakeFs(files, [], true)), false);
  assert.equal(treeRssMb(10, 'VmHWM', fakeFs(files)), 3);
  assert.equal(statusKb(status(5), 'VmSwap'), null);
});

test(
  'on this machine: a busy child shows CPU ticks and a peak RSS that can be reset',
  { skip: process.platform !== 'linux' },
  async () => {
    // A peak far above where the process settles (300 MB touched, then returned to the system), so
    // that the reset shows whatever the child's heap does meanwhile.
    const script =
      'let b=Buffer.alloc(3e8,1);for(let i=0;i<3e6;i++)b[i%1000]++;b=null;gc();' +
      'console.log("ready");setTimeout(()=>{},20000)';
    const child = spawn(process.execPath, ['--expose-gc', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      assert.ok(treeCpuTicks(child.pid!) > 0);
      const before = treeRssMb(child.pid!, 'VmHWM');
      assert.ok(before > 300, `VmHWM ${before} MB`);
      assert.equal(resetPeakRss(child.pid!), true);
      const after = treeRssMb(child.pid!, 'VmHWM');
      assert.ok(after < before - 200, `VmHWM ${before} MB, then ${after} MB after the reset`);
    } finally {
      child.kill('SIGKILL');
    }
  },
);
