import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError } from '../util/errors.ts';
import { redact } from '../mysql/index.ts';
import type { Arm } from '../results/schema.ts';
import { canConnect, findFreePort } from '../util/net.ts';
import { allowedEnvironment } from '../util/childEnvironment.ts';
import type { ProxyArmSpec } from './arms.ts';
import { throwIfAborted, type RunContext, type Target } from './context.ts';
import { ProxyProcess, runBuild, waitUntilReady } from '../harness/proxyProcess.ts';

/** The proxy arms: resolved into specs, their files written and builds run, then started. */

const DEFAULT_BUILD_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** Each arm source as a spec (factories get ports, the run's directory, cleanups); names unique. */
export async function resolveArms(ctx: RunContext, mysql: Target): Promise<ProxyArmSpec[]> {
  const specs: ProxyArmSpec[] = [];
  for (const source of ctx.options.arms) {
    throwIfAborted(ctx);
    const spec =
      typeof source === 'function'
        ? await source({
            mysql,
            outDir: ctx.outDir,
            exec: ctx.deps.exec,
            allocatePort: () => findFreePort(),
            addCleanup: (what, fn) => ctx.cleanup.add(what, fn),
          })
        : source;
    if (spec.name === 'direct' || specs.some((s) => s.name === spec.name)) {
      throw new InfrastructureError(`arm name "${spec.name}" is used twice (or is the reserved "direct")`);
    }
    specs.push(spec);
    for (const [key, value] of Object.entries(spec.env ?? {})) {
      if (/PASSWORD|SECRET|TOKEN/i.test(key)) ctx.secrets.push(value);
    }
  }
  return specs;
}

/** An allow-list, not the gate's environment: the arms run the code under test (src/util/childEnvironment.ts). */
export function armEnv(ctx: RunContext, mysql: Target, spec: ProxyArmSpec): NodeJS.ProcessEnv {
  return allowedEnvironment(ctx.deps.env, ctx.options.proxyEnv ?? [], {
    ATHENA_BENCH_MYSQL_HOST: mysql.host,
    ATHENA_BENCH_MYSQL_PORT: String(mysql.port),
    ATHENA_BENCH_MYSQL_USER: mysql.user,
    ATHENA_BENCH_MYSQL_PASSWORD: mysql.password,
    ATHENA_BENCH_MYSQL_DATABASE: mysql.database,
    ATHENA_BENCH_PROXY_PORT: String(spec.port),
    ATHENA_BENCH_ARM: spec.name,
    ATHENA_BENCH_OUT_DIR: ctx.outDir,
    ...spec.env,
  });
}

/** Writes each arm's files (a generated config) and runs its build, output kept in logs/. */
export async function buildArms(ctx: RunContext, mysql: Target, specs: ProxyArmSpec[]): Promise<void> {
  for (const spec of specs) {
    for (const file of spec.files ?? []) {
      mkdirSync(path.dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.contents);
    }
    if (!spec.build) continue;
    throwIfAborted(ctx);
    ctx.deps.progress.note(`building arm "${spec.name}": ${spec.build}`);
    await runBuild(spec.name, spec.build, {
      exec: ctx.deps.exec,
      cwd: spec.cwd,
      env: armEnv(ctx, mysql, spec),
      logPath: path.join(ctx.logsDir, `${spec.name}-build.log`),
      timeoutMs: ctx.options.buildTimeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS,
      signal: ctx.options.signal,
    });
  }
}

/** What results.json says of an arm: its command and config without secrets. */
export function armRecord(spec: ProxyArmSpec, secrets: readonly string[]): Arm {
  return {
    name: spec.name,
    role: spec.role,
    host: spec.host ?? '127.0.0.1',
    port: spec.port,
    command: redact(spec.start, secrets),
    ...(spec.recordedConfig !== undefined ? { config: redact(spec.recordedConfig, secrets) } : {}),
    ...(spec.commit !== undefined ? { commit: spec.commit } : {}),
  };
}

/** Arms measured only by the work channel: recorded all the same, so the verdict finds them. */
export function recordArms(ctx: RunContext, mysql: Target, specs: ProxyArmSpec[]): void {
  for (const spec of specs) {
    ctx.liveArms.push({ record: armRecord(spec, ctx.secrets), target: mysql, spec, trafficCheck: false });
  }
}

/** Starts each arm for the timed rounds and waits until it answers a MySQL handshake. */
export async function startArms(ctx: RunContext, mysql: Target, specs: ProxyArmSpec[]): Promise<void> {
  for (const spec of specs) {
    throwIfAborted(ctx);
    const host = spec.host ?? '127.0.0.1';
    // Something already answering there (MySQL itself, a proxy left over) would pass the ready
    // check and be measured in the proxy's place.
    if (await canConnect(host, spec.port, 1000)) {
      throw new InfrastructureError(
        `arm "${spec.name}": ${host}:${spec.port} is already in use before the proxy started; give the port the proxy will listen on (--proxy-port), not one another process holds`,
      );
    }
    ctx.deps.progress.note(
      `starting arm "${spec.name}" on ${host}:${spec.port}: ${redact(spec.start, ctx.secrets)}`,
    );
    const proc = ProxyProcess.start(spec.name, spec.start, {
      cwd: spec.cwd,
      env: armEnv(ctx, mysql, spec),
      logPath: path.join(ctx.logsDir, `${spec.name}.log`),
    });
    ctx.cleanup.add(`stop arm "${spec.name}"`, () => proc.stop(STOP_GRACE_MS));
    ctx.liveArms.push({
      record: armRecord(spec, ctx.secrets),
      target: { ...mysql, host, port: spec.port, ...(spec.clientTls ? { tls: spec.clientTls } : {}) },
      spec,
      process: proc,
      trafficCheck: spec.trafficCheck && ctx.options.trafficCheck !== false,
    });
    await waitUntilReady(proc, {
      host,
      port: spec.port,
      metricsUrl: spec.metricsUrl,
      timeoutMs: spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      fetcher: ctx.fetcher,
      signal: ctx.options.signal,
    });
  }
  for (const arm of ctx.liveArms) {
    if (arm.trafficCheck && !arm.spec?.metricsUrl) {
      ctx.warnings.push(`Arm "${arm.record.name}": no metrics URL, so the traffic check cannot run.`);
    }
  }
}
