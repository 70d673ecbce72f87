// MySQL client/server protocol constants (the subset Athena needs), named as in the MySQL docs.

/** Capability flags (CLIENT_*), 32 bits. */
export const Cap = {
  LONG_PASSWORD: 0x1, // on MariaDB servers a clear bit means "MariaDB extended capabilities follow"
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  NO_SCHEMA: 0x10,
  COMPRESS: 0x20,
  ODBC: 0x40,
  LOCAL_FILES: 0x80,
  IGNORE_SPACE: 0x100,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  CAN_HANDLE_EXPIRED_PASSWORDS: 0x400000,
  SESSION_TRACK: 0x800000,
  DEPRECATE_EOF: 0x1000000,
  OPTIONAL_RESULTSET_METADATA: 0x2000000,
  ZSTD_COMPRESSION: 0x4000000,
  QUERY_ATTRIBUTES: 0x8000000,
} as const;

/** Server status flags (SERVER_*), in OK and EOF packets. */
export const Status = {
  IN_TRANS: 0x1,
  AUTOCOMMIT: 0x2,
  MORE_RESULTS_EXISTS: 0x8,
  CURSOR_EXISTS: 0x40,
  LAST_ROW_SENT: 0x80,
  IN_TRANS_READONLY: 0x2000,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

/** Command bytes (COM_*). */
export const Com = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
} as const;

/** A packet payload of this length continues in the next packet (payloads >= 16 MB). */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/** Error numbers and SQL states Athena itself produces. */
export const ErrorCode = {
  CON_COUNT_ERROR: { errno: 1040, sqlState: '08004' }, // Too many connections
  HANDSHAKE_ERROR: { errno: 1043, sqlState: '08S01' }, // Bad handshake
  HOST_BLOCKED: { errno: 1129, sqlState: 'HY000' }, // Host is blocked because of many connection errors
  ACCESS_DENIED: { errno: 1045, sqlState: '28000' },
  UNKNOWN_COM_ERROR: { errno: 1047, sqlState: '08S01' },
  NET_PACKET_TOO_LARGE: { errno: 1153, sqlState: '08S01' },
  NET_READ_INTERRUPTED: { errno: 1159, sqlState: '08S01' }, // Got timeout reading communication packets
  NOT_SUPPORTED_YET: { errno: 1235, sqlState: '42000' },
  CONN_HOST_ERROR: { errno: 2003, sqlState: 'HY000' }, // Can't connect to MySQL server
  SERVER_LOST: { errno: 2013, sqlState: 'HY000' },
  SERVER_SHUTDOWN: { errno: 1053, sqlState: '08S01' },
  SECURE_TRANSPORT_REQUIRED: { errno: 3159, sqlState: 'HY000' },
  // MySQL 8.0.24+ sends it before closing a session idle past wait_timeout.
  CLIENT_INTERACTION_TIMEOUT: { errno: 4031, sqlState: 'HY000' },
  // ER_OUT_OF_RESOURCES: MySQL's answer when it cannot allocate for a connection.
  OUT_OF_RESOURCES: { errno: 1041, sqlState: 'HY000' },
} as const;

export const NATIVE_PASSWORD_PLUGIN = 'mysql_native_password';
export const CACHING_SHA2_PLUGIN = 'caching_sha2_password';

/** utf8mb4_general_ci: the collation Athena announces in its handshake. */
export const DEFAULT_COLLATION = 45;
