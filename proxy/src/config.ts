import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { BACKEND_PASSWORD_VARIABLE, envPasswordVariable } from './contract.ts';

export { BACKEND_PASSWORD_VARIABLE, envPasswordVariable };

/**
 * Athena's configuration: a TOML file (the keys of the performance-testing guide, docs/PERF.md) validated by zod. Unknown keys and bad values
 * are errors that name the key path ("pool.max_idle: expected ..."); the CLI exits 2 on a ConfigError.
 * Passwords may come from the environment instead of the file (see envPasswordVariable).
 */

export interface ShardConfig extends BackendSecurityConfig {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}
export interface UserConfig {
  name: string;
  password: string;
  shard: string;
  max_qps: number;
  burst: number;
  /** Sessions of this user at once (server.max_user_connections unless set); 0 = unlimited. */
  max_connections: number;
}
export interface AthenaConfig {
  server: {
    listen_addr: string;
    listen_port: number;
    /** 0 = no metrics server */
    metrics_addr: string;
    metrics_port: number;
    max_connections: number;
    handshake_timeout_ms: number;
    shutdown_grace_ms: number;
    backend_connect_timeout_ms: number;
    /** Largest command a client may send, in bytes (summed over continuation packets); ERR 1153 past it. */
    max_allowed_packet: number;
    /** Largest packet a client may send before it has logged in, in bytes. */
    max_handshake_packet: number;
    /** Connections from one address (an IPv6 /64) that have not finished logging in; 0 = no limit. */
    max_handshakes_per_ip: number;
    /** Connections that have not finished logging in, from anywhere; 0 = no limit. */
    max_handshakes: number;
    /**
     * Sessions one user may hold at once unless its [[users]] entry says otherwise; 0 = unlimited.
     * Absent from the file: 0 (unlimited): a pool smaller than the clients queues them, a cap refuses them.
     */
    max_user_connections: number;
    /** Failed logins from one address within login_failure_window_secs before it is refused; 0 = off. */
    max_login_failures_per_ip: number;
    login_failure_window_secs: number;
    /** PEM files for TLS with clients; both or neither (then TLS is not offered). */
    tls_cert_file?: string;
    tls_key_file?: string;
    /** Refuse clients that do not switch to TLS. */
    require_secure_transport: boolean;
    /** A logged-in session that runs no command for this long is closed; 0 = never. */
    client_idle_timeout_secs: number;
    /** Bytes held at once, across all sessions, for commands not forwarded yet (MemoryBudget). */
    command_memory_budget: number;
  };
  shards: ShardConfig[];
  users: UserConfig[];
  pool: { max_idle: number; max_age_secs: number; max_idle_time_secs: number; max_open: number };
  circuit: { max_concurrent_per_user_shard: number; queue_size: number; queue_timeout_ms: number };
}

/** A config that cannot be used. `key` is the dotted path of the offending key ("" for the whole file). */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly detail: string,
  ) {
    super(key === '' ? detail : `${key}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** The shard name [backend] becomes. */
export const DEFAULT_SHARD_NAME = 'default';

export const CONFIG_DEFAULTS = {
  server: {
    listen_addr: '127.0.0.1',
    listen_port: 3307,
    metrics_addr: '127.0.0.1',
    metrics_port: 4307,
    max_connections: 4096,
    handshake_timeout_ms: 10_000,
    shutdown_grace_ms: 10_000,
    backend_connect_timeout_ms: 5_000,
    max_allowed_packet: 64 * 1024 * 1024,
    max_handshake_packet: 8 * 1024,
    max_handshakes_per_ip: 256,
    max_handshakes: 1024,
    max_login_failures_per_ip: 10,
    login_failure_window_secs: 60,
    require_secure_transport: false,
    // MySQL's wait_timeout default (8 hours).
    client_idle_timeout_secs: 28_800,
    // Room for four commands of the default max_allowed_packet at once.
    command_memory_budget: 512 * 1024 * 1024,
  },
  backend: { host: '127.0.0.1', port: 3306 },
  user: { max_qps: 0, burst: 0 },
  pool: { max_idle: 20, max_age_secs: 3600, max_idle_time_secs: 300, max_open: 200 },
  circuit: { max_concurrent_per_user_shard: 50, queue_size: 200, queue_timeout_ms: 10_000 },
} as const;

const Port = z.number().int().min(0).max(65535);
const BackendPort = z.number().int().min(1).max(65535);
const Host = z.string().min(1, 'expected a non-empty host name or address');
const Name = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/, 'expected a name of letters, digits and _ . @ - (max 64)')
  .max(64, 'expected at most 64 characters');
const NonNegInt = z.number().int().nonnegative();
const PositiveInt = z.number().int().positive();
const Millis = z.number().int().positive().max(86_400_000);

const ServerSchema = z.strictObject({
  listen_addr: Host.default(CONFIG_DEFAULTS.server.listen_addr),
  listen_port: Port.default(CONFIG_DEFAULTS.server.listen_port),
  metrics_addr: Host.default(CONFIG_DEFAULTS.server.metrics_addr),
  metrics_port: Port.default(CONFIG_DEFAULTS.server.metrics_port),
  max_connections: PositiveInt.default(CONFIG_DEFAULTS.server.max_connections),
  handshake_timeout_ms: Millis.default(CONFIG_DEFAULTS.server.handshake_timeout_ms),
  shutdown_grace_ms: NonNegInt.max(3_600_000).default(CONFIG_DEFAULTS.server.shutdown_grace_ms),
  backend_connect_timeout_ms: Millis.default(CONFIG_DEFAULTS.server.backend_connect_timeout_ms),
  max_allowed_packet: z
    .number()
    .int()
    .min(1024, 'expected at least 1024 bytes')
    .max(1024 ** 3, 'expected at most 1073741824 bytes (1 GiB, as MySQL)')
    .default(CONFIG_DEFAULTS.server.max_allowed_packet),
  max_handshake_packet: z
    .number()
    .int()
    .min(512, 'expected at least 512 bytes (a handshake response with connection attributes)')
    .max(1024 * 1024, 'expected at most 1048576 bytes')
    .default(CONFIG_DEFAULTS.server.max_handshake_packet),
  max_handshakes_per_ip: NonNegInt.default(CONFIG_DEFAULTS.server.max_handshakes_per_ip),
  max_handshakes: NonNegInt.default(CONFIG_DEFAULTS.server.max_handshakes),
  // Absent: derived from pool.max_open (defaultUserConnections) once the whole file is parsed.
  max_user_connections: NonNegInt.optional(),
  max_login_failures_per_ip: NonNegInt.default(CONFIG_DEFAULTS.server.max_login_failures_per_ip),
  login_failure_window_secs: PositiveInt.max(86_400).default(
    CONFIG_DEFAULTS.server.login_failure_window_secs,
  ),
  tls_cert_file: z.string().min(1, 'expected the path of a PEM certificate (chain)').optional(),
  tls_key_file: z.string().min(1, 'expected the path of a PEM private key').optional(),
  require_secure_transport: z.boolean().default(CONFIG_DEFAULTS.server.require_secure_transport),
  client_idle_timeout_secs: NonNegInt.max(31_536_000, 'expected at most 31536000 (a year, as MySQL)').default(
    CONFIG_DEFAULTS.server.client_idle_timeout_secs,
  ),
  command_memory_budget: PositiveInt.max(2 ** 45, 'expected at most 35184372088832 bytes (32 TiB)').default(
    CONFIG_DEFAULTS.server.command_memory_budget,
  ),
});

// ---- Backend TLS and credentials: how Athena may send its backend password ----

export const SSL_MODES = ['disabled', 'preferred', 'required', 'verify_ca', 'verify_identity'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** A shard's keys for TLS to its server and for caching_sha2_password full authentication. */
export interface BackendSecurityConfig {
  /**
   * TLS to this backend, named as MySQL's ssl-mode: disabled; preferred (TLS when offered, never
   * verified); required (TLS, the certificate verified unless ssl_verify_server_cert = false);
   * verify_ca (the certificate verified); verify_identity (and its name checked against host).
   */
  ssl_mode: SslMode;
  /** PEM CA file the backend's certificate must chain to; system CAs otherwise. */
  ssl_ca?: string;
  /** ssl_mode = "required" only: false accepts any certificate (absent: true, verified). */
  ssl_verify_server_cert?: boolean;
  /** The server's RSA public key (PEM) for caching_sha2_password over plain TCP, pinned. */
  rsa_public_key_file?: string;
  /** true: on plain TCP, ask the server for its RSA public key, unverified (absent: false, refused). */
  get_server_public_key?: boolean;
}

const backendSecurityFields = {
  ssl_mode: z.enum(SSL_MODES, { error: `expected one of ${SSL_MODES.join(', ')}` }).default('disabled'),
  ssl_ca: z.string().min(1, 'expected the path of a PEM CA file').optional(),
  ssl_verify_server_cert: z.boolean().optional(),
  rsa_public_key_file: z.string().min(1, 'expected the path of a PEM public key').optional(),
  get_server_public_key: z.boolean().optional(),
};

/** Keys that would do nothing, or contradict each other, under a shard's ssl_mode. */
function checkBackendSecurity(entry: BackendSecurityConfig, section: string): void {
  const { ssl_mode: mode } = entry;
  const verifies = mode === 'verify_ca' || mode === 'verify_identity';
  const verifyKey = `${section}.ssl_verify_server_cert`;
  if (verifies && entry.ssl_verify_server_cert === false) {
    throw new ConfigError(
      verifyKey,
      `contradicts ssl_mode = "${mode}", which always verifies the certificate (use ssl_mode = "required" to choose)`,
    );
  }
  if (!verifies && mode !== 'required' && entry.ssl_verify_server_cert !== undefined) {
    const why = mode === 'preferred' ? '"preferred" never verifies the certificate' : 'no TLS';
    throw new ConfigError(verifyKey, `applies to ssl_mode = "required" only (${why})`);
  }
  const checksCertificate = verifies || (mode === 'required' && entry.ssl_verify_server_cert !== false);
  if (entry.ssl_ca !== undefined && !checksCertificate) {
    throw new ConfigError(
      `${section}.ssl_ca`,
      `is not used: ssl_mode = "${mode}"${mode === 'required' ? ' with ssl_verify_server_cert = false' : ''} does not verify the certificate (use ssl_mode = "verify_ca", "verify_identity" or "required")`,
    );
  }
  if (entry.get_server_public_key !== undefined && entry.rsa_public_key_file !== undefined) {
    throw new ConfigError(
      `${section}.get_server_public_key`,
      'use either rsa_public_key_file (the pinned key) or get_server_public_key (ask the server), not both',
    );
  }
}

/** checkBackendSecurity for [backend] or every [[shards]] entry. */
function checkBackendsSecurity(file: ConfigFile): void {
  if (file.backend !== undefined) checkBackendSecurity(file.backend, 'backend');
  file.shards?.forEach((shard, index) => checkBackendSecurity(shard, `shards[${index}]`));
}

// ---- end of backend TLS and credentials ----

const backendFields = {
  host: Host.default(CONFIG_DEFAULTS.backend.host),
  port: BackendPort.default(CONFIG_DEFAULTS.backend.port),
  user: z.string().min(1, 'expected a non-empty MySQL user name'),
  // Optional here because the environment may supply it; checked after the overrides are applied.
  password: z.string().optional(),
  database: z.string().min(1, 'expected a non-empty database name (or leave the key out)').optional(),
  ...backendSecurityFields,
};
const BackendSchema = z.strictObject(backendFields);
const ShardSchema = z.strictObject({ name: Name, ...backendFields });

const UserSchema = z.strictObject({
  name: Name,
  password: z.string().optional(),
  shard: Name.optional(),
  max_qps: z.number().nonnegative().finite().default(CONFIG_DEFAULTS.user.max_qps),
  burst: NonNegInt.default(CONFIG_DEFAULTS.user.burst),
  max_connections: NonNegInt.optional(),
});

const PoolSchema = z.strictObject({
  max_idle: NonNegInt.default(CONFIG_DEFAULTS.pool.max_idle),
  max_age_secs: PositiveInt.default(CONFIG_DEFAULTS.pool.max_age_secs),
  max_idle_time_secs: PositiveInt.default(CONFIG_DEFAULTS.pool.max_idle_time_secs),
  max_open: PositiveInt.default(CONFIG_DEFAULTS.pool.max_open),
});

const CircuitSchema = z.strictObject({
  max_concurrent_per_user_shard: PositiveInt.default(CONFIG_DEFAULTS.circuit.max_concurrent_per_user_shard),
  queue_size: NonNegInt.default(CONFIG_DEFAULTS.circuit.queue_size),
  queue_timeout_ms: Millis.default(CONFIG_DEFAULTS.circuit.queue_timeout_ms),
});

const FileSchema = z.strictObject({
  server: ServerSchema.default(ServerSchema.parse({})),
  backend: BackendSchema.optional(),
  shards: z.array(ShardSchema).optional(),
  users: z.array(UserSchema).min(1, 'expected at least one [[users]] entry (who may connect to the proxy)'),
  pool: PoolSchema.default(PoolSchema.parse({})),
  circuit: CircuitSchema.default(CircuitSchema.parse({})),
});

/** The dotted key path of a zod issue path: ["users", 0, "max_qps"] -> "users[0].max_qps". */
function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function joinKey(parent: string, child: string): string {
  return parent === '' ? child : `${parent}.${child}`;
}

/** The value at a zod issue path in the parsed TOML (undefined when the key is absent). */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** A TOML value's type in the words of the TOML spec. */
function tomlTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value !== null && typeof value === 'object') return 'table';
  if (typeof value === 'bigint') return 'number';
  return typeof value;
}

/** zod's name of an expected type, as the config file's author would say it. */
const EXPECTED_TYPE: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'a table',
};

function toConfigError(error: z.ZodError, raw: unknown): ConfigError {
  const issue = error.issues[0];
  if (issue === undefined) return new ConfigError('', 'invalid configuration');
  const parent = keyPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return new ConfigError(joinKey(parent, key), 'unknown key (check the spelling; see proxy/README.md)');
  }
  if (issue.code === 'invalid_type') {
    // zod 4 does not report the input by default: look the value up in what was parsed.
    const value = valueAt(raw, issue.path);
    const expected = EXPECTED_TYPE[issue.expected] ?? issue.expected;
    if (value === undefined) return new ConfigError(parent, `required key is missing (expected ${expected})`);
    return new ConfigError(parent, `expected ${expected}, got ${tomlTypeName(value)}`);
  }
  return new ConfigError(parent, issue.message);
}

/** Reads a password override from env; "" is a real (empty) password, unset means "no override". */
function envSecret(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  return env[variable];
}

/** Two entries whose names map to the same variable would silently share one secret: refuse that. */
function checkEnvNameCollisions(kind: 'SHARD' | 'USER', names: string[], section: string): void {
  const seen = new Map<string, string>();
  names.forEach((name, index) => {
    const variable = envPasswordVariable(kind, name);
    const other = seen.get(variable);
    // Identical names are reported as duplicates by the caller.
    if (other !== undefined && other !== name) {
      throw new ConfigError(
        `${section}[${index}].name`,
        `"${name}" and "${other}" both map to the environment variable ${variable}; rename one`,
      );
    }
    seen.set(variable, name);
  });
}

type ConfigFile = z.infer<typeof FileSchema>;

/** Parses and validates a config file's text. `env` supplies password overrides (default: none). */
export function parseConfig(tomlText: string, env: NodeJS.ProcessEnv = {}): AthenaConfig {
  const raw = readToml(tomlText);
  const result = FileSchema.safeParse(raw);
  if (!result.success) throw toConfigError(result.error, raw);
  const file = result.data;
  const server = {
    ...file.server,
    max_user_connections: file.server.max_user_connections ?? 0,
  };
  const shards = resolveShards(file, env);
  const users = resolveUsers(file.users, shards, env, server.max_user_connections);
  checkCrossKeyRules(file);
  checkBackendsSecurity(file);
  return { server, shards, users, pool: file.pool, circuit: file.circuit };
}

function readToml(tomlText: string): unknown {
  try {
    return parseToml(tomlText);
  } catch (error) {
    if (error instanceof TomlError) {
      throw new ConfigError(
        '',
        `TOML syntax error at line ${error.line}, column ${error.column}: ${firstLine(error.message)}`,
      );
    }
    throw error;
  }
}

/** The shards: [backend] is one shard named DEFAULT_SHARD_NAME; passwords resolved from `env` first. */
function resolveShards(file: ConfigFile, env: NodeJS.ProcessEnv): ShardConfig[] {
  if (file.backend !== undefined && file.shards !== undefined) {
    throw new ConfigError('shards', 'use either [backend] (one shard) or [[shards]] (several), not both');
  }
  if (file.backend !== undefined) {
    const { password, database, ...rest } = file.backend;
    const resolved = envSecret(env, BACKEND_PASSWORD_VARIABLE) ?? password;
    if (resolved === undefined) {
      throw new ConfigError(
        'backend.password',
        `required key is missing (or set ${BACKEND_PASSWORD_VARIABLE})`,
      );
    }
    return [
      {
        name: DEFAULT_SHARD_NAME,
        ...rest,
        password: resolved,
        ...(database === undefined ? {} : { database }),
      },
    ];
  }
  if (file.shards === undefined || file.shards.length === 0) {
    throw new ConfigError('backend', 'required: a [backend] table or at least one [[shards]] entry');
  }
  checkEnvNameCollisions(
    'SHARD',
    file.shards.map((s) => s.name),
    'shards',
  );
  const names = new Set<string>();
  return file.shards.map((shard, index) => {
    if (names.has(shard.name)) {
      throw new ConfigError(`shards[${index}].name`, `duplicate shard name "${shard.name}"`);
    }
    names.add(shard.name);
    const variable = envPasswordVariable('SHARD', shard.name);
    const { password, database, ...rest } = shard;
    const resolved = envSecret(env, variable) ?? password;
    if (resolved === undefined) {
      throw new ConfigError(`shards[${index}].password`, `required key is missing (or set ${variable})`);
    }
    return { ...rest, password: resolved, ...(database === undefined ? {} : { database }) };
  });
}

/** The users, each on a defined shard (the first one by default); passwords resolved from `env` first. */
function resolveUsers(
  entries: ConfigFile['users'],
  shards: readonly ShardConfig[],
  env: NodeJS.ProcessEnv,
  defaultMaxConnections: number,
): UserConfig[] {
  const shardNames = new Set(shards.map((s) => s.name));
  const firstShard = shards[0]?.name ?? DEFAULT_SHARD_NAME;
  checkEnvNameCollisions(
    'USER',
    entries.map((u) => u.name),
    'users',
  );
  const userNames = new Set<string>();
  return entries.map((user, index) => {
    if (userNames.has(user.name)) {
      throw new ConfigError(`users[${index}].name`, `duplicate user name "${user.name}"`);
    }
    userNames.add(user.name);
    const shard = user.shard ?? firstShard;
    if (!shardNames.has(shard)) {
      throw new ConfigError(
        `users[${index}].shard`,
        `unknown shard "${shard}" (defined: ${[...shardNames].map((n) => `"${n}"`).join(', ')})`,
      );
    }
    const variable = envPasswordVariable('USER', user.name);
    const password = envSecret(env, variable) ?? user.password;
    if (password === undefined) {
      throw new ConfigError(`users[${index}].password`, `required key is missing (or set ${variable})`);
    }
    return {
      name: user.name,
      password,
      shard,
      max_qps: user.max_qps,
      burst: user.burst,
      max_connections: user.max_connections ?? defaultMaxConnections,
    };
  });
}

/** Rules between keys the schema checks one by one. */
function checkCrossKeyRules(file: ConfigFile): void {
  if (file.pool.max_idle > file.pool.max_open) {
    throw new ConfigError(
      'pool.max_idle',
      `expected at most pool.max_open (${file.pool.max_open}), got ${file.pool.max_idle}`,
    );
  }
  const { server } = file;
  if ((server.tls_cert_file === undefined) !== (server.tls_key_file === undefined)) {
    const missing = server.tls_cert_file === undefined ? 'tls_cert_file' : 'tls_key_file';
    throw new ConfigError(
      `server.${missing}`,
      'required with the other one: TLS needs a certificate and its key',
    );
  }
  if (server.require_secure_transport && server.tls_cert_file === undefined) {
    throw new ConfigError(
      'server.require_secure_transport',
      'needs server.tls_cert_file and server.tls_key_file',
    );
  }
  // A user may hold half of the budget, and the largest command needs twice its size (its packets
  // and the copy that joins them).
  if (server.command_memory_budget < 4 * server.max_allowed_packet) {
    throw new ConfigError(
      'server.command_memory_budget',
      `expected at least 4 × server.max_allowed_packet (${4 * server.max_allowed_packet}): a user may hold half of it, and the largest command needs twice its size; got ${server.command_memory_budget}`,
    );
  }
  if (server.metrics_port !== 0 && server.metrics_port === server.listen_port && server.listen_port !== 0) {
    throw new ConfigError(
      'server.metrics_port',
      `must differ from server.listen_port (${server.listen_port})`,
    );
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

/** Reads and validates a config file. A missing or unreadable file is a ConfigError too. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = {}): AthenaConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError('', `cannot read config file ${path} (${code})`);
  }
  try {
    return parseConfig(text, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(error.key, `${error.detail} (in ${path})`);
    }
    throw error;
  }
}

/** A copy safe to log or print: every password replaced by "***". */
export function redactConfig(config: AthenaConfig): AthenaConfig {
  return {
    server: { ...config.server },
    shards: config.shards.map((s) => ({ ...s, password: '***' })),
    users: config.users.map((u) => ({ ...u, password: '***' })),
    pool: { ...config.pool },
    circuit: { ...config.circuit },
  };
}
