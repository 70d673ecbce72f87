import type { Workload, DriverName } from '../suite/schema.ts';
import type { DriverMetrics } from '../results/schema.ts';
import type { MysqlConnection } from '../mysql/url.ts';
import type { Exec } from '../util/exec.ts';

/** What a driver needs for one call: where to connect and how to spawn processes. */
export interface DriverContext {
  /** The arm's endpoint (direct MySQL or the proxy); prepare/cleanup get the DIRECT connection. */
  target: MysqlConnection & {
    database: string;
    /**
     * Connect with TLS (an arm that encrypts the client leg); the server's certificate is not
     * verified. `filesDir` holds cacert.pem, client-cert.pem and client-key.pem, which sysbench 1.0
     * reads from its working directory whenever it uses TLS.
     */
    tls?: { filesDir: string };
  };
  exec: Exec;
  /** Called for each intermediate report (sysbench --report-interval, builtin once a second). */
  onProgress?: (p: { elapsedSec: number; tps: number; qps: number }) => void;
  /** Aborting kills the driver; the call then rejects with an InfrastructureError. */
  signal?: AbortSignal;
}

export type DriverDetection =
  | { available: true; binary: string; version: string }
  | { available: false; reason: string; installHint: string };

export interface DriverRun {
  metrics: DriverMetrics;
  /** CPU the load generator itself used per query (builtin driver, in this process); null otherwise. */
  loadGeneratorCpuUsPerQuery: number | null;
  /** The driver's output (passwords removed), kept for the results and for debugging. */
  rawOutput: string;
}

export interface RunOptions {
  /** Overrides the suite's measured time (CLI --duration), in seconds. */
  durationSec?: number;
  /**
   * A fixed number of events (sysbench --events) with no time limit instead of a timed run: the
   * work channel's windows. `timeoutSec` then bounds the run. Only sysbench has event counts, so
   * the work channel measures sysbench workloads only.
   */
  events?: { count: number; timeoutSec: number };
}

export interface Driver<W extends Workload = Workload> {
  readonly name: DriverName;
  detect(exec: Exec): Promise<DriverDetection>;
  /** Creates the data set, once per workload, through the DIRECT connection. */
  prepare(workload: W, ctx: DriverContext): Promise<void>;
  /**
   * One measured run; warmup (if any) is part of the call but excluded from the metrics.
   * Throws InfrastructureError on a failed/killed driver or unparsable output — never returns zeros
   * for output it did not understand. errors > 0 in the metrics when the driver reported errors.
   */
  run(workload: W, ctx: DriverContext, opts?: RunOptions): Promise<DriverRun>;
  /** Drops what prepare created; through the DIRECT connection. */
  cleanup(workload: W, ctx: DriverContext): Promise<void>;
}

export type WorkloadOf<N extends DriverName> = Extract<Workload, { driver: N }>;
