import { STATEMENT_TYPES, type StatementType } from '../statementType.ts';

/**
 * Athena's Prometheus metrics. The per-query path (recordQuery, the rate-limit counters) only bumps
 * numbers in preallocated typed arrays and objects; every string is built in render(), per scrape.
 */

/** Upper bounds of athena_query_duration_seconds' buckets: 0.1 ms to 10 s. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export type RateLimitOutcome = 'acquired' | 'rejected_queue_full' | 'rejected_timeout' | 'rejected_qps';

/** Upper bounds of athena_rate_limit_queue_wait_seconds' buckets: the query buckets, to 10 s. */
export const QUEUE_WAIT_BUCKETS_SECONDS = DURATION_BUCKETS_SECONDS;

/** The counters of one (user, shard) gate; Admission holds a reference and increments fields directly. */
export interface RateLimitCounters {
  acquired: number;
  rejected_queue_full: number;
  rejected_timeout: number;
  rejected_qps: number;
  /** Commands that waited in the circuit's queue, then got a slot or timed out. */
  queued: number;
  /** Commands run on the slot their session kept for its open transaction, without queueing. */
  in_transaction: number;
  /** Queue waits per bucket (non-cumulative, +Inf last; summed in render()) and their sum in seconds. */
  readonly queueWaitBuckets: Float64Array;
  queueWaitSeconds: number;
}

/** One command's wait in the circuit's queue, until it got a slot or timed out. */
export function observeQueueWait(counters: RateLimitCounters, seconds: number): void {
  const value = seconds >= 0 ? seconds : 0;
  let b = 0;
  while (b < QUEUE_WAIT_BUCKETS_SECONDS.length && value > (QUEUE_WAIT_BUCKETS_SECONDS[b] as number)) b++;
  counters.queueWaitBuckets[b] = (counters.queueWaitBuckets[b] as number) + 1;
  counters.queueWaitSeconds += value;
}

/** Why a client connection was refused before its handshake (athena_connections_refused_total's reason). */
export type RefusalReason = 'max_connections' | 'handshakes' | 'handshakes_per_ip' | 'login_throttled';
const REFUSAL_REASONS: readonly RefusalReason[] = [
  'max_connections',
  'handshakes',
  'handshakes_per_ip',
  'login_throttled',
];

/** Where an oversized client packet arrived (athena_packets_too_large_total's phase). */
export type PacketPhase = 'handshake' | 'command';

/**
 * What Athena sends MySQL: commands that wait for an answer (round trips: forwarded client
 * commands, connection resets, database switches, one per new connection's login) and bytes both
 * ways. Connections bump the fields directly; a gate divides them by its queries to see an extra
 * round trip per query that no CPU counter would show.
 */
export interface BackendTraffic {
  roundTrips: number;
  bytes: number;
}

export interface PoolStats {
  shard: string;
  idle: number;
  active: number;
}

/** Where the process_* metrics come from (injectable for tests). */
export interface ProcessStats {
  cpuSeconds(): number;
  residentMemoryBytes(): number;
  startTimeSeconds(): number;
}

export const nodeProcessStats: ProcessStats = {
  cpuSeconds: () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  },
  residentMemoryBytes: () => process.memoryUsage.rss(),
  startTimeSeconds: () => Math.round((Date.now() / 1000 - process.uptime()) * 1000) / 1000,
};

/** Every metric family name render() emits, for the dashboard test and the README. */
export const METRIC_NAMES = [
  'athena_queries_total',
  'athena_query_duration_seconds',
  'athena_query_errors_total',
  'athena_connections_active',
  'athena_connections_total',
  'athena_connections_unauthenticated',
  'athena_connections_refused_total',
  'athena_login_failures_total',
  'athena_logins_throttled_total',
  'athena_handshakes_evicted_total',
  'athena_packets_too_large_total',
  'athena_client_idle_timeouts_total',
  'athena_command_memory_bytes',
  'athena_command_memory_refused_total',
  'athena_rate_limit_acquired_total',
  'athena_rate_limit_rejected_queue_full_total',
  'athena_rate_limit_rejected_timeout_total',
  'athena_rate_limit_rejected_qps_total',
  'athena_rate_limit_queued_total',
  'athena_rate_limit_in_transaction_total',
  'athena_rate_limit_queue_wait_seconds',
  'athena_prepared_param_types_resent_total',
  'athena_pool_idle_connections',
  'athena_pool_active_connections',
  'athena_backend_round_trips_total',
  'athena_backend_bytes_total',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
] as const;

/** Index of a type in STATEMENT_TYPES: a switch, not a keyed lookup (megamorphic on the hot path). */
function typeIndex(type: StatementType): number {
  switch (type) {
    case 'select':
      return 0;
    case 'insert':
      return 1;
    case 'update':
      return 2;
    case 'delete':
      return 3;
    case 'begin':
      return 4;
    case 'commit':
      return 5;
    default:
      return 6;
  }
}
const TYPE_COUNT = STATEMENT_TYPES.length;
const BUCKET_COUNT = DURATION_BUCKETS_SECONDS.length;
/** Per type: one slot per finite bucket plus one for +Inf (non-cumulative; summed in render()). */
const SLOTS_PER_TYPE = BUCKET_COUNT + 1;

const RATE_LIMIT_FAMILIES: ReadonlyArray<{ outcome: RateLimitOutcome; name: string; help: string }> = [
  {
    outcome: 'acquired',
    name: 'athena_rate_limit_acquired_total',
    help: 'Commands admitted by the per (user, shard) circuit and rate limiter.',
  },
  {
    outcome: 'rejected_queue_full',
    name: 'athena_rate_limit_rejected_queue_full_total',
    help: 'Commands refused because the circuit queue was full (ERR 1040).',
  },
  {
    outcome: 'rejected_timeout',
    name: 'athena_rate_limit_rejected_timeout_total',
    help: 'Commands refused after waiting longer than circuit.queue_timeout_ms (ERR 1205).',
  },
  {
    outcome: 'rejected_qps',
    name: 'athena_rate_limit_rejected_qps_total',
    help: "Commands refused by the user's max_qps token bucket (ERR 1226).",
  },
];

/** Escapes a label value for the text exposition format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus reads it (Go's ParseFloat: "+Inf", "NaN", plain or exponent form). */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export class AthenaMetrics {
  private readonly queries = new Float64Array(TYPE_COUNT);
  private readonly errors = new Float64Array(TYPE_COUNT);
  private readonly durationSum = new Float64Array(TYPE_COUNT);
  private readonly durationBuckets = new Float64Array(TYPE_COUNT * SLOTS_PER_TYPE);
  private connectionsActive = 0;
  private connectionsTotal = 0;
  private connectionsUnauthenticated = 0;
  private readonly refused: Record<RefusalReason, number> = {
    max_connections: 0,
    handshakes: 0,
    handshakes_per_ip: 0,
    login_throttled: 0,
  };
  private loginFailures = 0;
  private loginsThrottled = 0;
  private handshakesEvicted = 0;
  private idleTimeouts = 0;
  private commandMemory: { readonly held: number } | null = null;
  private commandMemoryRefusals = 0;
  private readonly packetsTooLarge: Record<PacketPhase, number> = { handshake: 0, command: 0 };
  /** user -> shard -> counters; nested maps so a lookup never builds a key string. */
  private readonly rateLimits = new Map<string, Map<string, RateLimitCounters>>();
  private paramTypesResentCount = 0;
  private poolSource: (() => PoolStats[]) | null = null;
  readonly backendTraffic: BackendTraffic = { roundTrips: 0, bytes: 0 };

  constructor(private readonly processStats: ProcessStats = nodeProcessStats) {}

  connectionOpened(): void {
    this.connectionsActive++;
    this.connectionsTotal++;
  }

  connectionClosed(): void {
    if (this.connectionsActive > 0) this.connectionsActive--;
  }

  /** A client connection started (+1) or left (-1) its handshake. */
  unauthenticatedChanged(delta: 1 | -1): void {
    this.connectionsUnauthenticated += delta;
  }

  connectionRefused(reason: RefusalReason): void {
    this.refused[reason]++;
  }

  loginFailed(): void {
    this.loginFailures++;
  }

  /** A password (login or COM_CHANGE_USER) refused unjudged: its address had used up its failures. */
  loginThrottled(): void {
    this.loginsThrottled++;
  }

  /** A connection still logging in was dropped to make room for one from a less busy address. */
  handshakeEvicted(): void {
    this.handshakesEvicted++;
  }

  /** A session closed for running no command within server.client_idle_timeout_secs. */
  clientIdleTimedOut(): void {
    this.idleTimeouts++;
  }

  /** Where athena_command_memory_bytes is read, at each scrape. */
  setCommandMemory(budget: { readonly held: number }): void {
    this.commandMemory = budget;
  }

  /** A session closed with ERR 1041: its command did not fit in server.command_memory_budget. */
  commandMemoryRefused(): void {
    this.commandMemoryRefusals++;
  }

  packetTooLarge(phase: PacketPhase): void {
    this.packetsTooLarge[phase]++;
  }

  /** One forwarded command that got a response; `seconds` from receipt to the response's last byte. */
  recordQuery(type: StatementType, seconds: number, failed: boolean): void {
    const t = typeIndex(type);
    const value = seconds >= 0 ? seconds : 0; // also maps NaN to 0
    this.queries[t] = (this.queries[t] as number) + 1;
    this.durationSum[t] = (this.durationSum[t] as number) + value;
    if (failed) this.errors[t] = (this.errors[t] as number) + 1;
    let b = 0;
    while (b < BUCKET_COUNT && value > (DURATION_BUCKETS_SECONDS[b] as number)) b++;
    const slot = t * SLOTS_PER_TYPE + b;
    this.durationBuckets[slot] = (this.durationBuckets[slot] as number) + 1;
  }

  /**
   * The counters of a (user, shard) gate, created (at zero, so the series shows up in /metrics before
   * the first event) on first use. Hot paths keep the returned object and increment its fields.
   */
  rateLimitCounters(user: string, shard: string): RateLimitCounters {
    let byShard = this.rateLimits.get(user);
    if (byShard === undefined) {
      byShard = new Map();
      this.rateLimits.set(user, byShard);
    }
    let counters = byShard.get(shard);
    if (counters === undefined) {
      counters = {
        acquired: 0,
        rejected_queue_full: 0,
        rejected_timeout: 0,
        rejected_qps: 0,
        queued: 0,
        in_transaction: 0,
        queueWaitBuckets: new Float64Array(QUEUE_WAIT_BUCKETS_SECONDS.length + 1),
        queueWaitSeconds: 0,
      };
      byShard.set(shard, counters);
    }
    return counters;
  }

  rateLimit(outcome: RateLimitOutcome, user: string, shard: string): void {
    this.rateLimitCounters(user, shard)[outcome]++;
  }

  /** An execute went to the server with parameter types Athena spliced in (see preparedStatements.ts). */
  paramTypesResent(): void {
    this.paramTypesResentCount++;
  }

  /** The pool reports its per-shard idle/active counts through this callback, read at each scrape. */
  setPoolSource(fn: () => PoolStats[]): void {
    this.poolSource = fn;
  }

  /** Everything, in the Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    this.renderQueries(out);
    this.renderConnections(out);
    this.renderRefusals(out);
    this.renderRateLimits(out);
    this.renderQueueing(out);
    this.renderPools(out);
    this.renderProcess(out);
    return `${out.join('\n')}\n`;
  }

  /** Queries, their duration histogram and errors, by statement type. */
  private renderQueries(out: string[]): void {
    family(
      out,
      'athena_queries_total',
      'counter',
      'Commands forwarded to a backend that got a response, by statement type.',
    );
    for (let t = 0; t < TYPE_COUNT; t++) {
      out.push(
        `athena_queries_total{type="${STATEMENT_TYPES[t]}"} ${formatValue(this.queries[t] as number)}`,
      );
    }
    family(
      out,
      'athena_query_duration_seconds',
      'histogram',
      'Time from receiving a command to forwarding the last byte of its response, by statement type.',
    );
    for (let t = 0; t < TYPE_COUNT; t++) this.renderDurations(out, t);
    family(
      out,
      'athena_query_errors_total',
      'counter',
      'Commands answered with an ERR packet, by statement type.',
    );
    for (let t = 0; t < TYPE_COUNT; t++) {
      out.push(
        `athena_query_errors_total{type="${STATEMENT_TYPES[t]}"} ${formatValue(this.errors[t] as number)}`,
      );
    }
  }

  /** One statement type's histogram series: cumulative buckets, sum, count. */
  private renderDurations(out: string[], t: number): void {
    const type = STATEMENT_TYPES[t] as string;
    let cumulative = 0;
    for (let b = 0; b < SLOTS_PER_TYPE; b++) {
      cumulative += this.durationBuckets[t * SLOTS_PER_TYPE + b] as number;
      const le = b < BUCKET_COUNT ? formatValue(DURATION_BUCKETS_SECONDS[b] as number) : '+Inf';
      out.push(`athena_query_duration_seconds_bucket{type="${type}",le="${le}"} ${formatValue(cumulative)}`);
    }
    out.push(
      `athena_query_duration_seconds_sum{type="${type}"} ${formatValue(this.durationSum[t] as number)}`,
    );
    out.push(`athena_query_duration_seconds_count{type="${type}"} ${formatValue(cumulative)}`);
  }

  /** Client connections and the traffic to the backends. */
  private renderConnections(out: string[]): void {
    family(out, 'athena_connections_active', 'gauge', 'Client connections open now.');
    out.push(`athena_connections_active ${formatValue(this.connectionsActive)}`);
    family(out, 'athena_connections_total', 'counter', 'Client connections accepted since start.');
    out.push(`athena_connections_total ${formatValue(this.connectionsTotal)}`);
    family(
      out,
      'athena_backend_round_trips_total',
      'counter',
      'Commands sent to MySQL that wait for its answer (forwarded commands, resets, database switches, logins).',
    );
    out.push(`athena_backend_round_trips_total ${formatValue(this.backendTraffic.roundTrips)}`);
    family(out, 'athena_backend_bytes_total', 'counter', 'Bytes sent to and received from MySQL.');
    out.push(`athena_backend_bytes_total ${formatValue(this.backendTraffic.bytes)}`);
    family(
      out,
      'athena_connections_unauthenticated',
      'gauge',
      'Client connections open now that have not logged in yet.',
    );
    out.push(`athena_connections_unauthenticated ${formatValue(this.connectionsUnauthenticated)}`);
  }

  /** Connections refused before the handshake, failed logins, oversized packets. */
  private renderRefusals(out: string[]): void {
    family(
      out,
      'athena_connections_refused_total',
      'counter',
      'Client connections refused before the handshake: server.max_connections, server.max_handshakes, server.max_handshakes_per_ip, or an address throttled after failed logins.',
    );
    for (const reason of REFUSAL_REASONS) {
      out.push(`athena_connections_refused_total{reason="${reason}"} ${formatValue(this.refused[reason])}`);
    }
    family(
      out,
      'athena_login_failures_total',
      'counter',
      'Logins refused for a wrong user name or password.',
    );
    out.push(`athena_login_failures_total ${formatValue(this.loginFailures)}`);
    family(
      out,
      'athena_logins_throttled_total',
      'counter',
      'Logins and COM_CHANGE_USER refused without judging the password: their address had used up server.max_login_failures_per_ip.',
    );
    out.push(`athena_logins_throttled_total ${formatValue(this.loginsThrottled)}`);
    family(
      out,
      'athena_handshakes_evicted_total',
      'counter',
      'Connections still logging in dropped (ERR 1040) to make room under server.max_handshakes for a client from a less busy address.',
    );
    out.push(`athena_handshakes_evicted_total ${formatValue(this.handshakesEvicted)}`);
    family(
      out,
      'athena_packets_too_large_total',
      'counter',
      'Client connections closed with ERR 1153 for a packet over server.max_handshake_packet (handshake) or server.max_allowed_packet (command).',
    );
    for (const phase of ['handshake', 'command'] as const) {
      out.push(
        `athena_packets_too_large_total{phase="${phase}"} ${formatValue(this.packetsTooLarge[phase])}`,
      );
    }
    family(
      out,
      'athena_client_idle_timeouts_total',
      'counter',
      'Client sessions closed (ERR 4031) after running no command for server.client_idle_timeout_secs; their backend connection went back to the pool.',
    );
    out.push(`athena_client_idle_timeouts_total ${formatValue(this.idleTimeouts)}`);
    family(
      out,
      'athena_command_memory_bytes',
      'gauge',
      "Bytes of server.command_memory_budget taken now by client commands not forwarded yet (beyond each session's first 64 KiB).",
    );
    out.push(`athena_command_memory_bytes ${formatValue(this.commandMemory?.held ?? 0)}`);
    family(
      out,
      'athena_command_memory_refused_total',
      'counter',
      'Client connections closed with ERR 1041: a command of theirs would have gone past server.command_memory_budget.',
    );
    out.push(`athena_command_memory_refused_total ${formatValue(this.commandMemoryRefusals)}`);
  }

  /** One family per rate-limit outcome, one series per (user, shard) gate. */
  private renderRateLimits(out: string[]): void {
    for (const { outcome, name, help } of RATE_LIMIT_FAMILIES) {
      family(out, name, 'counter', help);
      for (const [user, byShard] of this.rateLimits) {
        for (const [shard, counters] of byShard) {
          const labels = `user="${escapeLabelValue(user)}",shard="${escapeLabelValue(shard)}"`;
          out.push(`${name}{${labels}} ${formatValue(counters[outcome])}`);
        }
      }
    }
  }

  /** The circuit's queue and held slots per (user, shard) gate, and re-sent parameter types. */
  private renderQueueing(out: string[]): void {
    const gates: Array<[string, RateLimitCounters]> = [];
    for (const [user, byShard] of this.rateLimits) {
      for (const [shard, counters] of byShard) {
        gates.push([`user="${escapeLabelValue(user)}",shard="${escapeLabelValue(shard)}"`, counters]);
      }
    }
    family(
      out,
      'athena_rate_limit_queued_total',
      'counter',
      'Commands that waited in the circuit queue for a slot (then admitted or timed out).',
    );
    for (const [labels, c] of gates)
      out.push(`athena_rate_limit_queued_total{${labels}} ${formatValue(c.queued)}`);
    family(
      out,
      'athena_rate_limit_in_transaction_total',
      'counter',
      'Commands run on the slot their session kept for its open transaction, without queueing.',
    );
    for (const [labels, c] of gates) {
      out.push(`athena_rate_limit_in_transaction_total{${labels}} ${formatValue(c.in_transaction)}`);
    }
    family(
      out,
      'athena_rate_limit_queue_wait_seconds',
      'histogram',
      'Time commands waited in the circuit queue, until they got a slot or timed out.',
    );
    for (const [labels, c] of gates) renderQueueWaits(out, labels, c);
    family(
      out,
      'athena_prepared_param_types_resent_total',
      'counter',
      'Executes sent with the parameter types of an earlier execute of the client that Athena refused.',
    );
    out.push(`athena_prepared_param_types_resent_total ${formatValue(this.paramTypesResentCount)}`);
  }

  /** Idle and active backend connections per shard, as the pool reports them now. */
  private renderPools(out: string[]): void {
    let pools: PoolStats[] = [];
    if (this.poolSource !== null) {
      try {
        pools = this.poolSource();
      } catch {
        pools = []; // a broken pool source must not take /metrics down with it
      }
    }
    family(out, 'athena_pool_idle_connections', 'gauge', 'Idle pooled backend connections, by shard.');
    for (const p of pools) {
      out.push(`athena_pool_idle_connections{shard="${escapeLabelValue(p.shard)}"} ${formatValue(p.idle)}`);
    }
    family(
      out,
      'athena_pool_active_connections',
      'gauge',
      'Backend connections in use by a client, by shard.',
    );
    for (const p of pools) {
      out.push(
        `athena_pool_active_connections{shard="${escapeLabelValue(p.shard)}"} ${formatValue(p.active)}`,
      );
    }
  }

  private renderProcess(out: string[]): void {
    family(
      out,
      'process_cpu_seconds_total',
      'counter',
      'User and system CPU time spent by the proxy, in seconds.',
    );
    out.push(`process_cpu_seconds_total ${formatValue(this.processStats.cpuSeconds())}`);
    family(out, 'process_resident_memory_bytes', 'gauge', 'Resident set size of the proxy, in bytes.');
    out.push(`process_resident_memory_bytes ${formatValue(this.processStats.residentMemoryBytes())}`);
    family(
      out,
      'process_start_time_seconds',
      'gauge',
      'Start time of the proxy since the Unix epoch, in seconds.',
    );
    out.push(`process_start_time_seconds ${formatValue(this.processStats.startTimeSeconds())}`);
  }
}

/** One gate's queue-wait histogram series: cumulative buckets, sum, count. */
function renderQueueWaits(out: string[], labels: string, counters: RateLimitCounters): void {
  let cumulative = 0;
  for (let b = 0; b <= QUEUE_WAIT_BUCKETS_SECONDS.length; b++) {
    cumulative += counters.queueWaitBuckets[b] as number;
    const bound = QUEUE_WAIT_BUCKETS_SECONDS[b];
    const le = bound === undefined ? '+Inf' : formatValue(bound);
    out.push(`athena_rate_limit_queue_wait_seconds_bucket{${labels},le="${le}"} ${formatValue(cumulative)}`);
  }
  out.push(`athena_rate_limit_queue_wait_seconds_sum{${labels}} ${formatValue(counters.queueWaitSeconds)}`);
  out.push(`athena_rate_limit_queue_wait_seconds_count{${labels}} ${formatValue(cumulative)}`);
}

/** A family's HELP and TYPE lines. */
function family(out: string[], name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}
