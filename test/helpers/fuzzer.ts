/**
 * A seeded, reproducible mutation fuzzer for Athena's client side ("hostile bytes": what a stranger may send).
 *
 * It records a real mysql2 session through the proxy at the byte level (handshake response, COM_QUERY,
 * prepared statements, ping, USE, multi-statements, QUIT), then opens many connections to the real proxy
 * bundle and sends mutations of those packets (bit flips, interesting values, bad and huge length headers,
 * truncation, wrong sequence ids, duplicated/dropped/random packets, garbage after QUIT), before and after
 * a real authentication. It checks that the proxy never crashes, that every connection closes (or
 * reacts) within a timeout, that no client session or backend connection is left behind, that RSS comes
 * back near its start, and that a well-behaved mysql2 client on another shard is unaffected meanwhile.
 *
 * Two attacks run too: during the cases, a pre-auth flood from a second loopback address holding more
 * sockets mid-handshake than server.max_handshakes_per_ip allows (the excess must be refused, and a
 * fresh login from 127.0.0.1 must be served while the flood holds); after the leak check,
 * authenticated clients streaming commands of 3 x 16 MiB past server.max_allowed_packet (each must
 * get ERR 1153 and be closed before the proxy has taken the whole stream).
 *
 * Every parameter lives in FUZZ_DEFAULTS (override with ATHENA_FUZZ_* variables, see fuzzOptionsFromEnv);
 * case i is generated from (seed, i) alone, so a failure names the seed and case that reproduce it.
 */
import net from 'node:net';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../src/mysql/localServer.ts';
import { launchProxy, type RunningProxy } from './proxy.ts';
import {
  Cap,
  RawClient,
  handshakeResponse,
  header,
  nativeToken,
  parseServerHandshake,
  splitPackets,
} from './wire.ts';

export interface FuzzOptions {
  /** PRNG seed: the same seed sends the same bytes. */
  seed: number;
  /** Stop generating cases once this many packets are planned. */
  packets: number;
  /** Fuzz connections open at once. */
  concurrency: number;
  /** Connections that stop mid-handshake and must be dropped by server.handshake_timeout_ms. */
  stallCases: number;
  /** The proxy's server.handshake_timeout_ms in the generated config. */
  handshakeTimeoutMs: number;
  /** After our FIN, the proxy must close the connection within this. */
  closeTimeoutMs: number;
  /** A complete pre-auth packet must get a reaction (bytes or close) within this. */
  reactTimeoutMs: number;
  /** Allowed RSS growth of the proxy from before fuzzing to after it settles. */
  rssSlackBytes: number;
  /** The proxy's server.max_allowed_packet; each oversized stream sends 3 x 16 MiB, past it. */
  maxAllowedPacket: number;
  /** Authenticated connections that stream an oversized command, one after the other. */
  oversizedStreams: number;
  /** The proxy's server.max_handshakes_per_ip and server.max_connections. */
  handshakesPerIp: number;
  maxConnections: number;
  /** Sockets the pre-auth flood opens from FLOOD_ADDRESS and holds (more than handshakesPerIp). */
  floodSockets: number;
  /** Run only the cases with these indexes (inclusive), to reproduce a failure; the stall cases are 0..stallCases-1. */
  onlyCases?: { from: number; to: number };
  /** Progress lines (optional). */
  log?: (line: string) => void;
}

export const FUZZ_DEFAULTS: FuzzOptions = {
  seed: 0x5eeda7e4,
  packets: 10_000,
  concurrency: 8,
  stallCases: 4,
  handshakeTimeoutMs: 10_000,
  // Generous: they catch hangs, not slowness, on a machine that may be heavily loaded.
  closeTimeoutMs: 15_000,
  reactTimeoutMs: 15_000,
  rssSlackBytes: 64 * 1024 * 1024,
  maxAllowedPacket: 20 * 1024 * 1024,
  oversizedStreams: 2,
  handshakesPerIp: 40,
  // Below the flood's size: without the per-address limit the flood alone would fill the proxy.
  maxConnections: 120,
  floodSockets: 160,
};

/** The second "host" of the pre-auth flood (any 127.0.0.0/8 address reaches loopback on Linux). */
const FLOOD_ADDRESS = '127.0.0.2';

/** ATHENA_FUZZ_SEED, ATHENA_FUZZ_PACKETS, ATHENA_FUZZ_CONCURRENCY override the defaults (soak runs). */
export function fuzzOptionsFromEnv(env: NodeJS.ProcessEnv, base: FuzzOptions = FUZZ_DEFAULTS): FuzzOptions {
  const int = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`${name}: expected a non-negative integer, got "${raw}"`);
    return value;
  };
  return {
    ...base,
    seed: int('ATHENA_FUZZ_SEED', base.seed),
    packets: int('ATHENA_FUZZ_PACKETS', base.packets),
    concurrency: Math.max(1, int('ATHENA_FUZZ_CONCURRENCY', base.concurrency)),
    ...onlyCasesFromEnv(env.ATHENA_FUZZ_ONLY),
  };
}

/** ATHENA_FUZZ_ONLY="1500-1520" (or "1515") runs just those cases of the seed. */
function onlyCasesFromEnv(raw: string | undefined): { onlyCases?: { from: number; to: number } } {
  if (raw === undefined || raw === '') return {};
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw);
  if (match === null) throw new Error(`ATHENA_FUZZ_ONLY: expected "N" or "N-M", got "${raw}"`);
  const from = Number(match[1]);
  return { onlyCases: { from, to: match[2] === undefined ? from : Number(match[2]) } };
}

export interface CaseFailure {
  caseIndex: number;
  kind: CaseKind;
  problem: string;
  /** The first bytes the case sent, hex. */
  sentHex: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  packetsSent: number;
  bytesSent: number;
  preAuthCases: number;
  postAuthCases: number;
  authFailures: number;
  errPacketsReceived: number;
  stallsDropped: number;
  crashes: number;
  hangs: number;
  failures: CaseFailure[];
  rssBeforeBytes: number;
  rssPeakBytes: number;
  /** The slowest /metrics answer during the fuzzing: a proxy whose event loop is blocked answers late. */
  slowestScrapeMs: number;
  /** The cases in flight when that slowest scrape started (to replay with ATHENA_FUZZ_ONLY). */
  casesDuringSlowestScrape: number[];
  /** The slowest successful authentication of a post-auth case (greeting to OK). */
  slowestAuthMs: number;
  rssAfterBytes: number;
  oversized: {
    streams: number;
    /** Streams answered with ERR 1153 and closed before all 48 MiB were taken. */
    refused: number;
    /** Bytes of one stream the kernel accepted before the proxy closed it (what the proxy read, plus socket buffers), at most. */
    maxBytesTaken: number;
    rssBeforeBytes: number;
    rssPeakBytes: number;
  };
  flood: {
    sockets: number;
    greeted: number;
    refused: number;
    /** A fresh mysql2 login + query from 127.0.0.1 while the flood held its sockets. */
    legitServed: boolean;
    legitMs: number;
    legitError: string | null;
    rssPeakBytes: number;
  };
  connectionsActiveAfter: number;
  poolActiveAfter: number;
  goodClient: {
    queries: number;
    errors: number;
    firstError: string | null;
    rowsExpected: number;
    rowsFound: number;
  };
  proxyAliveAfter: boolean;
  /** Rows of fuzz.canary, which only unauthenticated clients try to insert into: must be 0. */
  canaryRows: number;
  durationMs: number;
  proxyStderrTail: string;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** mulberry32: small, fast, good enough to drive mutations. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

function caseRandom(seed: number, index: number): Random {
  return new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Wire packets

interface WirePacket {
  seq: number;
  payload: Buffer;
  /** A length header that lies about the payload. */
  declaredLength?: number;
  /** Send only this many payload bytes (the header still says more). */
  truncateTo?: number;
}

function frame(packet: WirePacket): Buffer {
  const length = Math.max(0, Math.min(0xffffff, packet.declaredLength ?? packet.payload.length));
  const body =
    packet.truncateTo === undefined ? packet.payload : packet.payload.subarray(0, packet.truncateTo);
  return Buffer.concat([header(length, packet.seq), body]);
}

function framingIntact(packets: readonly WirePacket[]): boolean {
  return packets.every(
    (p) =>
      (p.declaredLength === undefined || p.declaredLength === p.payload.length) &&
      (p.truncateTo === undefined || p.truncateTo >= p.payload.length) &&
      p.payload.length < 0xffffff,
  );
}

// ---------------------------------------------------------------------------------------------
// Mutations

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];
const INTERESTING_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x01000000];
const COM_QUIT = Buffer.from([0x01]);
const CANARY_QUERY = Buffer.concat([Buffer.from([0x03]), Buffer.from('INSERT INTO fuzz.canary VALUES (1)')]);

function clonePacket(p: WirePacket): WirePacket {
  return { ...p, payload: Buffer.from(p.payload) };
}

/** One mutation of one packet, in place. */
function mutatePacket(p: WirePacket, r: Random, postAuth: boolean): void {
  const len = p.payload.length;
  switch (r.int(postAuth ? 13 : 12)) {
    case 0: // bit flips
      for (let k = r.range(1, 4); k > 0 && len > 0; k--) {
        const at = r.int(len);
        p.payload[at] = (p.payload[at] as number) ^ (1 << r.int(8));
      }
      break;
    case 1: // an interesting byte (length-encoded-integer markers, 0, 0xff...)
      if (len > 0) p.payload[r.int(len)] = r.pick(INTERESTING_BYTES);
      break;
    case 2: // an interesting 32-bit value (capabilities, statement ids, max packet size...)
      if (len >= 4) p.payload.writeUInt32LE(r.pick(INTERESTING_U32), r.int(len - 3));
      break;
    case 3: {
      // insert random bytes
      const at = r.int(len + 1);
      p.payload = Buffer.concat([p.payload.subarray(0, at), r.bytes(r.range(1, 16)), p.payload.subarray(at)]);
      break;
    }
    case 4: {
      // delete a range (the header stays consistent: a short packet)
      const at = r.int(len + 1);
      p.payload = Buffer.concat([
        p.payload.subarray(0, at),
        p.payload.subarray(Math.min(len, at + r.range(1, 12))),
      ]);
      break;
    }
    case 5: // truncate to a prefix, consistent header
      p.payload = p.payload.subarray(0, r.int(len + 1));
      break;
    case 6: // the header promises more than is sent
      p.truncateTo = r.int(len + 1);
      break;
    case 7: // a lying length header, sometimes huge
      p.declaredLength = r.pick([
        0,
        1,
        Math.max(0, len - 1),
        len + 1,
        len + 1000,
        0xffffff,
        0xfffffe,
        r.int(0x1000000),
      ]);
      break;
    case 8: // wrong sequence id
      p.seq = r.chance(0.5) ? (p.seq + r.range(1, 3)) & 0xff : r.int(256);
      break;
    case 9: // append garbage inside the packet
      p.payload = Buffer.concat([p.payload, r.bytes(r.range(1, 64))]);
      break;
    case 10: // empty payload
      p.payload = Buffer.alloc(0);
      break;
    case 11: // replaced by random bytes
      p.payload = r.bytes(r.range(0, 80));
      break;
    case 12: // another command byte (including ones the proxy must refuse: shutdown, binlog dump, ...)
      if (len > 0) p.payload[0] = r.int(256);
      else p.payload = Buffer.from([r.int(256)]);
      break;
  }
}

/** Mutations of the packet list: duplicate, drop, swap, insert a random packet. */
function mutateSequence(packets: WirePacket[], r: Random): void {
  const n = packets.length;
  switch (r.int(4)) {
    case 0:
      if (n > 0) packets.splice(r.int(n + 1), 0, clonePacket(r.pick(packets)));
      break;
    case 1:
      if (n > 1) packets.splice(r.int(n), 1);
      break;
    case 2:
      if (n > 1) {
        const a = r.int(n);
        const b = r.int(n);
        const pa = packets[a] as WirePacket;
        packets[a] = packets[b] as WirePacket;
        packets[b] = pa;
      }
      break;
    case 3:
      packets.splice(r.int(n + 1), 0, { seq: r.int(256), payload: r.bytes(r.range(0, 64)) });
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// Cases

export type CaseKind =
  'pre-auth-handshake' | 'pre-auth-random' | 'post-auth-commands' | 'post-auth-quit-garbage' | 'stall';

interface FuzzCase {
  index: number;
  kind: CaseKind;
  /** Bytes sent after the greeting (pre-auth) or after a successful authentication (post-auth). */
  bytes: Buffer;
  packets: number;
  /** Writes in this many pieces (exercises the proxy's framer on split chunks). */
  pieces: number;
  /** A complete pre-auth packet: the proxy must react (reply or close) before we send FIN. */
  expectReaction: boolean;
}

interface Recording {
  handshakeResponse: { seq: number; payload: Buffer };
  commands: Array<Array<{ seq: number; payload: Buffer }>>;
}

function makeCase(index: number, seed: number, rec: Recording): FuzzCase {
  const r = caseRandom(seed, index);
  const roll = r.next();
  const pieces = r.chance(0.3) ? r.range(2, 6) : 1;
  if (roll < 0.3) {
    const packets: WirePacket[] = [clonePacket(rec.handshakeResponse)];
    for (let k = r.range(1, 3); k > 0; k--) mutatePacket(packets[0] as WirePacket, r, false);
    const intact = framingIntact(packets);
    // Commands pipelined behind the handshake response: never to be run for an unauthenticated client.
    if (r.chance(0.5)) {
      const start = r.int(rec.commands.length);
      packets.push(
        ...rec.commands
          .slice(start, start + r.range(1, 5))
          .flat()
          .map(clonePacket),
      );
      // A canary only unauthenticated clients send: the table must stay empty.
      if (r.chance(0.5)) packets.push({ seq: 0, payload: CANARY_QUERY });
      if (r.chance(0.3)) mutateSequence(packets, r);
    }
    return {
      index,
      kind: 'pre-auth-handshake',
      bytes: Buffer.concat(packets.map(frame)),
      packets: packets.length,
      pieces,
      expectReaction: intact,
    };
  }
  if (roll < 0.4) {
    if (r.chance(0.5)) {
      const bytes = r.chance(0.1) ? r.bytes(r.range(16_000, 200_000)) : r.bytes(r.range(0, 300));
      return { index, kind: 'pre-auth-random', bytes, packets: 1, pieces, expectReaction: false };
    }
    const packets: WirePacket[] = [];
    for (let k = r.range(1, 8); k > 0; k--)
      packets.push({ seq: r.int(256), payload: r.bytes(r.range(0, 120)) });
    return {
      index,
      kind: 'pre-auth-random',
      bytes: Buffer.concat(packets.map(frame)),
      packets: packets.length,
      pieces,
      expectReaction: false,
    };
  }
  // Post-auth: a window of the recorded commands, some mutated.
  const start = r.int(rec.commands.length);
  const count = r.range(2, 10);
  const packets: WirePacket[] = rec.commands
    .slice(start, start + count)
    .flat()
    .map(clonePacket);
  const mutations = r.chance(0.05) ? 0 : r.range(1, 3);
  for (let k = 0; k < mutations; k++) {
    if (r.chance(0.25)) mutateSequence(packets, r);
    else if (packets.length > 0) mutatePacket(r.pick(packets), r, true);
  }
  if (r.chance(0.08)) {
    // garbage after QUIT
    packets.push(
      { seq: 0, payload: Buffer.from(COM_QUIT) },
      { seq: r.int(256), payload: r.bytes(r.range(0, 200)) },
    );
    const tail = r.chance(0.5) ? r.bytes(r.range(1, 500)) : Buffer.alloc(0);
    return {
      index,
      kind: 'post-auth-quit-garbage',
      bytes: Buffer.concat([...packets.map(frame), tail]),
      packets: packets.length + (tail.length > 0 ? 1 : 0),
      pieces,
      expectReaction: false,
    };
  }
  const tail = r.chance(0.1) ? r.bytes(r.range(1, 100)) : Buffer.alloc(0);
  return {
    index,
    kind: 'post-auth-commands',
    bytes: Buffer.concat([...packets.map(frame), tail]),
    packets: Math.max(1, packets.length + (tail.length > 0 ? 1 : 0)),
    pieces,
    expectReaction: false,
  };
}

function stallCase(index: number, rec: Recording): FuzzCase {
  // Half a handshake response, then silence: the proxy must drop us after its handshake timeout.
  const half = frame({ ...rec.handshakeResponse }).subarray(0, 4 + (index % 2 === 0 ? 0 : 10));
  return { index, kind: 'stall', bytes: Buffer.from(half), packets: 1, pieces: 1, expectReaction: false };
}

// ---------------------------------------------------------------------------------------------
// Logging in for the post-auth cases

/** The recorded client's handshake response, logging in as `user` with a token for this session's scramble. */
function loginResponse(
  recorded: Buffer,
  user: string,
  password: string,
  database: string,
  scramble: Buffer,
): Buffer {
  let caps = recorded.length >= 4 ? recorded.readUInt32LE(0) : 0;
  caps &= ~(
    Cap.COMPRESS |
    Cap.SSL |
    Cap.LOCAL_FILES |
    Cap.CONNECT_ATTRS |
    Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA
  );
  caps |= Cap.PROTOCOL_41 | Cap.SECURE_CONNECTION | Cap.PLUGIN_AUTH | Cap.CONNECT_WITH_DB;
  return handshakeResponse({
    user,
    token: nativeToken(password, scramble),
    database,
    capabilities: caps,
    collation: recorded.length > 8 ? (recorded[8] as number) : 45,
  });
}

// ---------------------------------------------------------------------------------------------
// The proxy process and its observation

function metricValue(text: string, line: RegExp): number {
  const match = line.exec(text);
  return match ? Number(match[1]) : NaN;
}

interface Environment {
  server: LocalServer;
  proxy: RunningProxy;
  users: { fuzz: { name: string; password: string }; good: { name: string; password: string } };
}

async function startEnvironment(options: FuzzOptions): Promise<Environment> {
  const server = await startLocalServer();
  try {
    const root = await mysql.createConnection({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
    });
    const backendFuzz = 'fz' + Math.random().toString(36).slice(2, 12);
    const backendGood = 'gd' + Math.random().toString(36).slice(2, 12);
    // Two backend accounts without global privileges: a fuzzed COM_SHUTDOWN or KILL cannot take the
    // server or the well-behaved client's connections down with it.
    for (const host of ['%', 'localhost', '127.0.0.1']) {
      await root.query(`CREATE USER 'athena_fuzz'@'${host}' IDENTIFIED BY '${backendFuzz}'`);
      await root.query(`CREATE USER 'athena_good'@'${host}' IDENTIFIED BY '${backendGood}'`);
      await root.query(`GRANT ALL ON fuzz.* TO 'athena_fuzz'@'${host}'`);
      await root.query(`GRANT ALL ON good.* TO 'athena_good'@'${host}'`);
    }
    await root.query('CREATE DATABASE fuzz');
    await root.query('CREATE DATABASE good');
    await root.query('CREATE TABLE fuzz.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(255))');
    await root.query("INSERT INTO fuzz.t (v) VALUES ('a'), ('b'), ('c')");
    await root.query('CREATE TABLE good.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)');
    await root.query('CREATE TABLE fuzz.canary (n INT)');
    await root.end();

    const users = {
      fuzz: { name: 'fuzz', password: 'fuzz-' + Math.random().toString(36).slice(2, 10) },
      good: { name: 'good', password: 'good-' + Math.random().toString(36).slice(2, 10) },
    };
    // Passwords come from the environment, as an operator would pass them.
    const config = (proxyPort: number, metricsPort: number): string => `[server]
listen_addr = '127.0.0.1'
listen_port = ${proxyPort}
metrics_port = ${metricsPort}
handshake_timeout_ms = ${options.handshakeTimeoutMs}
shutdown_grace_ms = 2000
max_allowed_packet = ${options.maxAllowedPacket}
max_handshakes_per_ip = ${options.handshakesPerIp}
max_connections = ${options.maxConnections}
# Mutated handshakes fail thousands of logins from 127.0.0.1: throttling would end the run (it has its
# own test in test/integration/proxy/hostile-clients.test.ts).
max_login_failures_per_ip = 0

[[shards]]
name = "fuzz"
host = '127.0.0.1'
port = ${server.port}
user = "athena_fuzz"

[[shards]]
name = "good"
host = '127.0.0.1'
port = ${server.port}
user = "athena_good"

[[users]]
name = "${users.fuzz.name}"
shard = "fuzz"

[[users]]
name = "${users.good.name}"
shard = "good"
`;
    const proxy = await launchProxy(config, {
      env: {
        ATHENA_SHARD_FUZZ_PASSWORD: backendFuzz,
        ATHENA_SHARD_GOOD_PASSWORD: backendGood,
        ATHENA_USER_FUZZ_PASSWORD: users.fuzz.password,
        ATHENA_USER_GOOD_PASSWORD: users.good.password,
      },
      logLimit: 1 << 20,
    });
    return { server, proxy, users };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function stopEnvironment(env: Environment): Promise<void> {
  await env.proxy.stop();
  await env.server.stop();
}

/** Records one real mysql2 session through a relay that keeps every client-to-proxy byte. */
async function recordSession(env: Environment): Promise<Recording> {
  const chunks: Buffer[] = [];
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: env.proxy.port });
    client.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  const relayPort = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: relayPort,
      user: env.users.fuzz.name,
      password: env.users.fuzz.password,
      database: 'fuzz',
      multipleStatements: true,
    });
    await c.query('SELECT 1');
    await c.query('SELECT id, v FROM t ORDER BY id LIMIT 3');
    await c.query("INSERT INTO t (v) VALUES ('recorded')");
    await c.query('BEGIN');
    await c.query('UPDATE t SET v = v WHERE id = 1');
    await c.query('COMMIT');
    await c.execute('SELECT v FROM t WHERE id = ?', [1]);
    await c.execute('INSERT INTO t (v) VALUES (?)', ['prepared']);
    await c.query('SELECT 1; SELECT 2');
    await c.ping();
    await c.query('USE fuzz');
    c.unprepare('SELECT v FROM t WHERE id = ?');
    await c.query('DELETE FROM t WHERE v = ?', ['nothing']);
    await c.end();
  } finally {
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
  const packets = splitPackets(Buffer.concat(chunks));
  const firstCommand = packets.findIndex((p) => p.seq === 0);
  const handshake = packets[0];
  if (handshake === undefined || firstCommand < 1) throw new Error('the recording has no handshake response');
  const commands: Recording['commands'] = [];
  const normalized = { seq: handshake.seq, payload: normalizeHandshakeResponse(handshake.payload) };
  for (const p of packets.slice(firstCommand)) {
    if (p.seq === 0 || commands.length === 0) commands.push([p]);
    else commands[commands.length - 1]?.push(p);
  }
  return { handshakeResponse: normalized, commands };
}

/**
 * The recorded handshake response with its run-dependent parts made fixed (the auth token depends on
 * the session's scramble, the connection attributes on the client's pid), so a seed always sends the
 * same bytes.
 */
function normalizeHandshakeResponse(payload: Buffer): Buffer {
  const caps = payload.readUInt32LE(0);
  let i = 32;
  const cstring = (): Buffer => {
    const end = payload.indexOf(0, i);
    const stop = end < 0 ? payload.length : end;
    const value = payload.subarray(i, stop);
    i = stop + 1;
    return value;
  };
  const user = cstring();
  const lengthPrefixedAuth = (caps & (Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA | Cap.SECURE_CONNECTION)) !== 0;
  if (lengthPrefixedAuth)
    i += 1 + (payload[i] ?? 0); // a 20-byte token: its lenenc length is one byte
  else cstring();
  const database = caps & Cap.CONNECT_WITH_DB ? cstring() : null;
  const plugin = caps & Cap.PLUGIN_AUTH ? cstring() : null;
  const lenencString = (text: string): Buffer =>
    Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]);
  const attributes = Buffer.concat(
    [
      ['_client_name', 'mysql2'],
      ['_os', 'linux'],
      ['program_name', 'athena-fuzz'],
    ].flatMap(([k, v]) => [lenencString(k ?? ''), lenencString(v ?? '')]),
  );
  const token = Buffer.alloc(20, 0x5a);
  return Buffer.concat([
    payload.subarray(0, 32),
    user,
    Buffer.from([0]),
    lengthPrefixedAuth ? Buffer.from([token.length]) : Buffer.alloc(0),
    token,
    lengthPrefixedAuth ? Buffer.alloc(0) : Buffer.from([0]),
    database === null ? Buffer.alloc(0) : Buffer.concat([database, Buffer.from([0])]),
    plugin === null ? Buffer.alloc(0) : Buffer.concat([plugin, Buffer.from([0])]),
    caps & Cap.CONNECT_ATTRS
      ? Buffer.concat([Buffer.from([attributes.length]), attributes])
      : Buffer.alloc(0),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Running one case

type ReceivedPacket = { seq: number; payload: Buffer; end: number };

/** Answers the greeting with the recorded handshake response as the fuzz user; returns the reply. */
async function loginAsFuzzUser(
  env: Environment,
  rec: Recording,
  conn: RawClient,
  greeting: ReceivedPacket,
  options: FuzzOptions,
): Promise<ReceivedPacket | null> {
  const { name, password } = env.users.fuzz;
  const response = loginResponse(
    rec.handshakeResponse.payload,
    name,
    password,
    'fuzz',
    parseServerHandshake(greeting.payload).scramble,
  );
  await conn.writeInPieces(frame({ seq: 1, payload: response }), 1);
  return conn.packetAt(greeting.end, options.reactTimeoutMs);
}

interface CaseOutcome {
  packets: number;
  bytes: number;
  errPackets: number;
  closedByProxy: boolean;
  authFailed: boolean;
  authMs: number;
  problem: string | null;
}

function countErrPackets(stream: Buffer, from: number): number {
  return splitPackets(stream.subarray(from)).filter((p) => p.payload[0] === 0xff).length;
}

async function runCase(
  env: Environment,
  c: FuzzCase,
  rec: Recording,
  options: FuzzOptions,
): Promise<CaseOutcome> {
  const outcome: CaseOutcome = {
    packets: 0,
    bytes: 0,
    errPackets: 0,
    closedByProxy: false,
    authFailed: false,
    authMs: 0,
    problem: null,
  };
  let conn: RawClient;
  try {
    conn = await RawClient.connect(env.proxy.port, '127.0.0.1', '127.0.0.1', options.closeTimeoutMs);
  } catch (error) {
    outcome.problem = `connect failed: ${(error as Error).message}`;
    return outcome;
  }
  try {
    const greeting = await conn.packetAt(0, options.reactTimeoutMs);
    if (greeting === null) {
      outcome.problem = conn.closed ? 'closed before the greeting' : 'no greeting';
      return outcome;
    }
    if (greeting.payload[0] !== 10) {
      outcome.problem = `greeting is not HandshakeV10 (first byte ${greeting.payload[0]})`;
      return outcome;
    }
    let afterAuth = greeting.end;
    if (c.kind === 'post-auth-commands' || c.kind === 'post-auth-quit-garbage') {
      const authStart = Date.now();
      const reply = await loginAsFuzzUser(env, rec, conn, greeting, options);
      outcome.authMs = Date.now() - authStart;
      if (reply === null || reply.payload[0] !== 0x00) {
        outcome.authFailed = true;
        outcome.problem = `authentication failed: ${reply === null ? 'no reply' : reply.payload.subarray(3).toString('latin1')}`;
        return outcome;
      }
      afterAuth = reply.end;
    }
    await conn.writeInPieces(c.bytes, c.pieces);
    outcome.packets = c.packets;
    outcome.bytes = c.bytes.length;
    if (c.kind === 'stall') {
      const dropped = await conn.waitFor(
        () => conn.closed,
        options.handshakeTimeoutMs + options.closeTimeoutMs,
      );
      if (!dropped)
        outcome.problem = `a client stalled mid-handshake was not dropped within ${options.handshakeTimeoutMs} ms + slack`;
      outcome.closedByProxy = dropped;
      return outcome;
    }
    if (c.expectReaction) {
      const reacted = await conn.waitFor(
        () => conn.received.length > afterAuth || conn.closed,
        options.reactTimeoutMs,
      );
      if (!reacted)
        outcome.problem = `no reply and no close within ${options.reactTimeoutMs} ms to a complete handshake response`;
    }
    conn.end();
    const closed = await conn.waitFor(() => conn.closed, options.closeTimeoutMs);
    outcome.closedByProxy = conn.peerClosedFirst;
    if (!closed && outcome.problem === null)
      outcome.problem = `not closed within ${options.closeTimeoutMs} ms after the client's FIN`;
    outcome.errPackets = countErrPackets(conn.received, afterAuth);
    return outcome;
  } finally {
    conn.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// The well-behaved client

/** A mysql2 connection through the proxy as the well-behaved user, on its own shard. */
function connectGood(env: Environment, connectTimeout = 10_000): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: env.proxy.port,
    user: env.users.good.name,
    password: env.users.good.password,
    database: 'good',
    connectTimeout,
  });
}

interface GoodClient {
  stop(): Promise<GoodClientResult>;
}
interface GoodClientResult {
  queries: number;
  errors: number;
  firstError: string | null;
  inserted: number;
}

async function startGoodClient(env: Environment): Promise<GoodClient> {
  const conn = await connectGood(env);
  const result: GoodClientResult = { queries: 0, errors: 0, firstError: null, inserted: 0 };
  let running = true;
  const fail = (message: string): void => {
    result.errors++;
    result.firstError ??= message;
  };
  const loop = (async () => {
    let i = 0;
    while (running) {
      i++;
      try {
        await conn.execute('INSERT INTO t (v) VALUES (?)', [i]);
        result.inserted++;
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n, ? + 1 AS next FROM t', [
          i,
        ]);
        result.queries += 2;
        const row = rows[0];
        if (row === undefined || Number(row.n) !== result.inserted || Number(row.next) !== i + 1) {
          fail(`wrong result at iteration ${i}: ${JSON.stringify(row)}, expected n=${result.inserted}`);
        }
      } catch (error) {
        fail(`iteration ${i}: ${(error as Error).message}`);
        if (result.errors > 20) break;
      }
      // Leave room for the fuzzer on a shared 2-core machine.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await conn.end().catch((error: unknown) => fail(`end: ${(error as Error).message}`));
      return result;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The two attacks

type RssSampler = () => number;

/** Samples the proxy's RSS every 20 ms while `work` runs; resolves with its result and the peak. */
async function withRssPeak<T>(rss: RssSampler, work: Promise<T>): Promise<[T, number]> {
  let peak = rss();
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 20);
  try {
    const result = await work;
    return [result, Math.max(peak, rss())];
  } finally {
    clearInterval(timer);
  }
}

/** Resolves when the socket can take more writes, or has closed. */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Logs in as the fuzz user and streams one command of 3 x 16 MiB; returns what the proxy took and said. */
async function oversizedStream(
  env: Environment,
  rec: Recording,
  seed: number,
  options: FuzzOptions,
): Promise<{ refused: boolean; bytesTaken: number }> {
  const conn = await RawClient.connect(env.proxy.port, '127.0.0.1', '127.0.0.1', options.closeTimeoutMs);
  try {
    const greeting = await conn.packetAt(0, options.reactTimeoutMs);
    if (greeting === null) return { refused: false, bytesTaken: 0 };
    const ok = await loginAsFuzzUser(env, rec, conn, greeting, options);
    if (ok === null || ok.payload[0] !== 0x00) return { refused: false, bytesTaken: 0 };
    const piece = new Random(seed).bytes(256 * 1024);
    piece[0] = 0x03; // COM_QUERY, in case the first piece is the command byte
    let written = 0;
    let taken = 0;
    const total = 3 * (4 + 0xffffff);
    while (written < total && !conn.closed) {
      const packetOffset = written % (4 + 0xffffff);
      let chunk: Buffer;
      if (packetOffset === 0) {
        const seq = Math.floor(written / (4 + 0xffffff));
        chunk = Buffer.from([0xff, 0xff, 0xff, seq]);
      } else {
        chunk = piece.subarray(0, Math.min(piece.length, 4 + 0xffffff - packetOffset));
      }
      written += chunk.length;
      if (!conn.socket.write(chunk)) await drained(conn.socket);
      taken = written - conn.socket.writableLength;
    }
    await conn.waitFor(() => conn.closed, options.closeTimeoutMs);
    const reply = await conn.packetAt(ok.end, 0);
    const refused =
      conn.closed && reply !== null && reply.payload[0] === 0xff && reply.payload.readUInt16LE(1) === 1153;
    return { refused, bytesTaken: taken };
  } finally {
    conn.socket.destroy();
  }
}

async function oversizedAttack(
  env: Environment,
  rec: Recording,
  options: FuzzOptions,
  rss: RssSampler,
): Promise<FuzzReport['oversized']> {
  const result = {
    streams: options.oversizedStreams,
    refused: 0,
    maxBytesTaken: 0,
    rssBeforeBytes: rss(),
    rssPeakBytes: 0,
  };
  const run = async (): Promise<void> => {
    for (let i = 0; i < options.oversizedStreams; i++) {
      const { refused, bytesTaken } = await oversizedStream(env, rec, options.seed + i, options);
      if (refused) result.refused++;
      result.maxBytesTaken = Math.max(result.maxBytesTaken, bytesTaken);
    }
  };
  [, result.rssPeakBytes] = await withRssPeak(rss, run());
  return result;
}

/** A flood report before anything happened. */
function noFlood(sockets: number): FuzzReport['flood'] {
  return {
    sockets,
    greeted: 0,
    refused: 0,
    legitServed: false,
    legitMs: 0,
    legitError: null,
    rssPeakBytes: 0,
  };
}

/** Opens floodSockets from FLOOD_ADDRESS, holds them, and logs in from 127.0.0.1 meanwhile. */
async function preAuthFlood(
  env: Environment,
  options: FuzzOptions,
  rss: RssSampler,
): Promise<FuzzReport['flood']> {
  const result = noFlood(options.floodSockets);
  const run = async (): Promise<void> => {
    const opened = await Promise.allSettled(
      Array.from({ length: options.floodSockets }, () =>
        RawClient.connect(env.proxy.port, '127.0.0.1', FLOOD_ADDRESS, options.closeTimeoutMs),
      ),
    );
    const sockets = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    try {
      const firsts = await Promise.all(sockets.map((c) => c.packetAt(0, options.reactTimeoutMs)));
      for (const first of firsts) {
        if (first?.payload[0] === 10) result.greeted++;
        else if (first?.payload[0] === 0xff && first.payload.readUInt16LE(1) === 1040) result.refused++;
      }
      const started = Date.now();
      try {
        const conn = await connectGood(env, options.reactTimeoutMs);
        await conn.query('SELECT 1');
        await conn.end();
        result.legitServed = true;
      } catch (error) {
        result.legitError = (error as Error).message;
      }
      result.legitMs = Date.now() - started;
    } finally {
      for (const c of sockets) c.socket.destroy();
    }
  };
  [, result.rssPeakBytes] = await withRssPeak(rss, run());
  return result;
}

// ---------------------------------------------------------------------------------------------
// The whole run

export async function runProxyFuzz(options: FuzzOptions = FUZZ_DEFAULTS): Promise<FuzzReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const env = await startEnvironment(options);
  try {
    const rec = await recordSession(env);
    log(
      `recorded: handshake response ${rec.handshakeResponse.payload.length} bytes, ${rec.commands.length} commands`,
    );

    const cases: FuzzCase[] = [];
    let planned = 0;
    for (let s = 0; s < options.stallCases; s++) {
      const c = stallCase(cases.length, rec);
      cases.push(c);
      planned += c.packets;
    }
    while (
      planned < options.packets ||
      (options.onlyCases !== undefined && cases.length <= options.onlyCases.to)
    ) {
      const c = makeCase(cases.length, options.seed, rec);
      cases.push(c);
      planned += c.packets;
    }
    const only = options.onlyCases;
    if (only !== undefined)
      cases.splice(0, cases.length, ...cases.filter((c) => c.index >= only.from && c.index <= only.to));

    const good = await startGoodClient(env);
    const rssBefore = env.proxy.rssBytes();
    let rssPeak = rssBefore;
    // Also time a /metrics scrape now and then: a slow answer means the proxy's event loop was blocked.
    const inFlight = new Set<number>();
    let slowestScrapeMs = 0;
    let casesDuringSlowestScrape: number[] = [];
    let scraping = false;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, env.proxy.rssBytes());
      if (scraping || !env.proxy.alive()) return;
      scraping = true;
      const t0 = Date.now();
      const during = [...inFlight];
      env.proxy
        .metricsText()
        .then(() => {
          const ms = Date.now() - t0;
          if (ms > slowestScrapeMs) {
            slowestScrapeMs = ms;
            casesDuringSlowestScrape = [...new Set([...during, ...inFlight])].sort((a, b) => a - b);
          }
        })
        .catch(() => undefined)
        .finally(() => (scraping = false));
    }, 200);

    const report: FuzzReport = {
      seed: options.seed,
      cases: cases.length,
      packetsSent: 0,
      bytesSent: 0,
      preAuthCases: 0,
      postAuthCases: 0,
      authFailures: 0,
      errPacketsReceived: 0,
      stallsDropped: 0,
      crashes: 0,
      hangs: 0,
      failures: [],
      rssBeforeBytes: rssBefore,
      rssPeakBytes: 0,
      slowestScrapeMs: 0,
      casesDuringSlowestScrape: [],
      slowestAuthMs: 0,
      rssAfterBytes: 0,
      oversized: { streams: 0, refused: 0, maxBytesTaken: 0, rssBeforeBytes: 0, rssPeakBytes: 0 },
      flood: noFlood(0),
      connectionsActiveAfter: NaN,
      poolActiveAfter: NaN,
      goodClient: { queries: 0, errors: 0, firstError: null, rowsExpected: 0, rowsFound: 0 },
      proxyAliveAfter: false,
      canaryRows: -1,
      durationMs: 0,
      proxyStderrTail: '',
    };

    const account = (c: FuzzCase, outcome: CaseOutcome): void => {
      report.packetsSent += outcome.packets;
      report.bytesSent += outcome.bytes;
      report.errPacketsReceived += outcome.errPackets;
      if (c.kind === 'stall' && outcome.closedByProxy) report.stallsDropped++;
      if (c.kind.startsWith('pre-auth')) report.preAuthCases++;
      if (c.kind.startsWith('post-auth')) report.postAuthCases++;
      if (outcome.authFailed) report.authFailures++;
      else report.slowestAuthMs = Math.max(report.slowestAuthMs, outcome.authMs);
      if (outcome.problem !== null) {
        if (!outcome.authFailed) report.hangs++;
        if (report.failures.length < 20) {
          report.failures.push({
            caseIndex: c.index,
            kind: c.kind,
            problem: outcome.problem,
            sentHex: c.bytes.subarray(0, 96).toString('hex'),
          });
        }
      }
    };
    // Stalled handshakes only wait for the proxy's timeout: they run beside the workers, not in them.
    const stalls = cases.filter((c) => c.kind === 'stall');
    const queue = cases.filter((c) => c.kind !== 'stall');
    const stallRuns = stalls.map(async (c) => account(c, await runCase(env, c, rec, options)));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < queue.length && env.proxy.alive()) {
        const c = queue[next++] as FuzzCase;
        inFlight.add(c.index);
        const outcome = await runCase(env, c, rec, options);
        inFlight.delete(c.index);
        account(c, outcome);
        if (c.index % 500 === 0) log(`case ${c.index}/${cases.length}, packets sent ${report.packetsSent}`);
      }
    };
    const rss = (): number => env.proxy.rssBytes();
    // The flood runs while the cases do (when the whole seed runs, not a replay of some cases).
    const fullRun = options.onlyCases === undefined;
    const flood = fullRun ? preAuthFlood(env, options, rss) : Promise.resolve(report.flood);
    await Promise.all([...stallRuns, ...Array.from({ length: options.concurrency }, worker)]);
    report.flood = await flood;
    clearInterval(sampler);
    if (!env.proxy.alive()) report.crashes = 1;

    const goodResult = await good.stop();
    report.goodClient = { ...goodResult, rowsExpected: goodResult.inserted, rowsFound: -1 };

    if (env.proxy.alive()) {
      // Let the proxy finish closing sessions and returning backend connections, then look.
      const settleUntil = Date.now() + 10_000;
      for (;;) {
        const text = await env.proxy.metricsText();
        report.connectionsActiveAfter = metricValue(text, /^athena_connections_active (\S+)$/m);
        report.poolActiveAfter = metricValue(text, /^athena_pool_active_connections\{shard="fuzz"\} (\S+)$/m);
        if ((report.connectionsActiveAfter === 0 && report.poolActiveAfter === 0) || Date.now() > settleUntil)
          break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      let rssAfter = Infinity;
      for (let k = 0; k < 5; k++) {
        rssAfter = Math.min(rssAfter, env.proxy.rssBytes());
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      report.rssAfterBytes = rssAfter;
      // After the leak check: a command under the cap may legitimately be held (16 MiB and its
      // buffers), and the allocator need not give that back to the system at once.
      if (fullRun) report.oversized = await oversizedAttack(env, rec, options, rss);
      try {
        const check = await connectGood(env);
        const [rows] = await check.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
        report.goodClient.rowsFound = Number(rows[0]?.n);
        await check.end();
        report.proxyAliveAfter = true;
      } catch (error) {
        report.failures.push({
          caseIndex: -1,
          kind: 'post-auth-commands',
          problem: `after fuzzing: ${(error as Error).message}`,
          sentHex: '',
        });
      }
    }
    const direct = await mysql.createConnection({
      host: env.server.host,
      port: env.server.port,
      user: env.server.user,
      password: env.server.password,
    });
    const [canary] = await direct.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM fuzz.canary');
    report.canaryRows = Number(canary[0]?.n);
    await direct.end();
    report.rssPeakBytes = rssPeak;
    report.slowestScrapeMs = slowestScrapeMs;
    report.casesDuringSlowestScrape = casesDuringSlowestScrape;
    if (!env.proxy.alive()) report.crashes = 1;
    report.durationMs = Date.now() - started;
    report.proxyStderrTail = env.proxy.log().slice(-3000);
    return report;
  } finally {
    await stopEnvironment(env);
  }
}
