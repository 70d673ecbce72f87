// athena: the MySQL proxy's command line. Loads the config, starts the listener and the metrics
// server, and shuts down gracefully on SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, redactConfig, type AthenaConfig } from './config.ts';
import { Admission } from './limits/admission.ts';
import { AthenaMetrics } from './metrics/metrics.ts';
import { startMetricsServer } from './metrics/httpServer.ts';
import { backendCredentialWarnings } from './server/backendCredentials.ts';
import { ProxyServer } from './server/proxyServer.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { describeTestCosts, testCost, testCostSettingsFromEnv } from './server/testCosts.ts';

const VERSION = packageJson.version;

const HELP = `athena ${VERSION}: a MySQL proxy (pooling, per-user/shard limits, Prometheus metrics)

Usage: athena --config <file.toml> [--check-config]

Options:
  -c, --config <path>   TOML configuration (default: proxy/config/athena.toml)
      --check-config    validate the configuration, print it with passwords masked, and exit
  -h, --help            show this help
  -v, --version         print the version

Exit codes: 0 ok, 2 bad flag or configuration, 3 could not start (e.g. port in use).
Environment: ATHENA_BACKEND_PASSWORD, ATHENA_SHARD_<NAME>_PASSWORD, ATHENA_USER_<NAME>_PASSWORD
override passwords from the file (see proxy/README.md).
`;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} athena: ${message}\n`);
}

/** Ends main() with this exit code (the reason is printed or logged already). */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

interface Flags {
  config?: string;
  'check-config'?: boolean;
  help?: boolean;
  version?: boolean;
}

interface Running {
  proxy: ProxyServer;
  metricsServer: { port: number; close(): Promise<void> } | null;
}

async function main(argv: string[]): Promise<number> {
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (flags.version) {
      process.stdout.write(`athena ${VERSION}\n`);
      return 0;
    }
    const configPath = flags.config ?? 'proxy/config/athena.toml';
    const config = readConfig(configPath);
    // Before anything listens, and with --check-config too: the operator sees them either way.
    for (const warning of backendCredentialWarnings(config.shards)) log(`warning: ${warning}`);
    if (flags['check-config']) {
      process.stdout.write(`${configPath}: ok\n${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return 0;
    }
    return await untilSignal(config, await start(config));
  } catch (error) {
    if (error instanceof Exit) return error.code;
    throw error;
  }
}

function parseFlags(argv: string[]): Flags {
  try {
    return parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        'check-config': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`athena: ${(error as Error).message}\n\n${HELP}`);
    throw new Exit(2);
  }
}

function readConfig(configPath: string): AthenaConfig {
  try {
    return loadConfig(configPath, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      // The message names the key and the file already (loadConfig adds "(in <path>)").
      process.stderr.write(`athena: ${error.message}\n`);
      throw new Exit(2);
    }
    throw error;
  }
}

/** Starts the listener, then the metrics server when configured; logs where they listen. */
async function start(config: AthenaConfig): Promise<Running> {
  const metrics = new AthenaMetrics();
  const admission = new Admission(config, metrics);
  const costSettings = testCostSettingsFromEnv(process.env);
  const costPerQuery = testCost(costSettings);
  let proxy: ProxyServer;
  try {
    proxy = new ProxyServer({ config, metrics, admission, costPerQuery, log });
  } catch (error) {
    // An unreadable or unusable TLS certificate or key: a configuration problem.
    log((error as Error).message);
    throw new Exit(2);
  }
  let address;
  try {
    address = await proxy.start();
  } catch (error) {
    log(
      `cannot listen on ${config.server.listen_addr}:${config.server.listen_port}: ${(error as Error).message}`,
    );
    throw new Exit(3);
  }
  const metricsServer = await startMetrics(config, metrics, proxy);
  log(
    `listening on ${address.host}:${address.port}` +
      (metricsServer
        ? `, metrics on http://${config.server.metrics_addr}:${metricsServer.port}/metrics`
        : '') +
      describeTestCosts(costSettings),
  );
  return { proxy, metricsServer };
}

/** The metrics server, null when server.metrics_port is 0; stops the proxy when it cannot listen. */
async function startMetrics(
  config: AthenaConfig,
  metrics: AthenaMetrics,
  proxy: ProxyServer,
): Promise<Running['metricsServer']> {
  if (config.server.metrics_port <= 0) return null;
  try {
    return await startMetricsServer({
      host: config.server.metrics_addr,
      port: config.server.metrics_port,
      metrics,
      health: () => proxy.health(),
    });
  } catch (error) {
    log(
      `cannot serve metrics on ${config.server.metrics_addr}:${config.server.metrics_port}: ${(error as Error).message}`,
    );
    await proxy.shutdown(0);
    throw new Exit(3);
  }
}

/** Runs until SIGTERM or SIGINT, then drains (up to server.shutdown_grace_ms) and resolves 0. */
function untilSignal(config: AthenaConfig, { proxy, metricsServer }: Running): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: draining (up to ${config.server.shutdown_grace_ms} ms)`);
      void proxy
        .shutdown(config.server.shutdown_grace_ms)
        .then(() => metricsServer?.close())
        .then(() => {
          log('stopped');
          resolve(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(3);
  },
);
