// One authenticated connection from Athena to a MySQL/MariaDB server.
//
// Connecting runs the connection phase (handshake, mysql_native_password or caching_sha2_password
// including full auth as the shard's credential policy allows, AuthSwitchRequest). Afterwards the raw byte stream is handed to whichever
// session currently owns the connection (its `sink`): the data path never frames it here.
import net from 'node:net';
import tls from 'node:tls';
import { CACHING_SHA2_PLUGIN, Cap, Com, ErrorCode, NATIVE_PASSWORD_PLUGIN } from '../protocol/constants.ts';
import { PacketFramer } from '../protocol/framer.ts';
import { buildHandshakeResponse, parseAuthSwitch, parseServerHandshake } from '../protocol/handshake.ts';
import { cachingSha2Token, nativePasswordToken, rsaEncryptPassword, rsaPublicKey } from '../protocol/auth.ts';
import {
  framePacket,
  lenencSize,
  parseErr,
  ProtocolError,
  readLenenc,
  type ErrInfo,
} from '../protocol/packets.ts';
import type { BackendTraffic } from '../metrics/metrics.ts';
import { fullAuthStep, tlsFailureHint, type BackendCredentialPolicy } from './backendCredentials.ts';
import { SocketReader } from './socketReader.ts';

/** Where a backend connection goes, as whom, and how its password may travel. */
export interface BackendTarget extends BackendCredentialPolicy {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** CR_SSL_CONNECTION_ERROR, as a MySQL client reports a TLS failure. */
const SSL_CONNECTION_ERROR = { errno: 2026, sqlState: 'HY000' };
/** CR_AUTH_PLUGIN_ERR, as a MySQL client reports an authentication it will not complete. */
const AUTH_PLUGIN_ERROR = { errno: 2061, sqlState: 'HY000' };

/**
 * The client-visible behaviour a backend connection is opened with. Connections are only reused by
 * sessions with the same profile, because these flags change the wire format or semantics of every
 * response (DEPRECATE_EOF, FOUND_ROWS, SESSION_TRACK, MULTI_STATEMENTS...).
 */
export interface SessionProfile {
  capabilities: number;
  collation: number;
  key: string;
}

/** Capabilities a client may negotiate that Athena passes on to its backend connection. */
export const PASSED_CAPABILITIES =
  Cap.FOUND_ROWS |
  Cap.LONG_FLAG |
  Cap.NO_SCHEMA |
  Cap.ODBC |
  Cap.IGNORE_SPACE |
  Cap.INTERACTIVE |
  Cap.MULTI_STATEMENTS |
  Cap.MULTI_RESULTS |
  Cap.PS_MULTI_RESULTS |
  Cap.SESSION_TRACK |
  Cap.DEPRECATE_EOF;

/** Capabilities Athena always asks of its backend (when the server has them). */
const REQUIRED_CAPABILITIES =
  Cap.LONG_PASSWORD |
  Cap.PROTOCOL_41 |
  Cap.TRANSACTIONS |
  Cap.SECURE_CONNECTION |
  Cap.PLUGIN_AUTH |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA;

export function makeProfile(clientCapabilities: number, collation: number): SessionProfile {
  const capabilities = (clientCapabilities & PASSED_CAPABILITIES) >>> 0;
  return { capabilities, collation, key: `${capabilities}:${collation}` };
}

/** A failure the client should see as a MySQL error (errno/sqlState/message). */
export class BackendError extends Error {
  constructor(
    readonly errno: number,
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
  static from(info: ErrInfo, prefix = ''): BackendError {
    return new BackendError(info.errno, info.sqlState, `${prefix}${info.message}`);
  }
}

/** Receives the backend's bytes while a session owns the connection. */
export interface BackendSink {
  /**
   * A chunk read from the server. It is a view of the connection's read buffer, which the next read
   * overwrites: return true when something may still reference it (e.g. a client write that did
   * not complete synchronously), so the connection reads into a fresh buffer next time.
   */
  onBackendData(chunk: Buffer): boolean;
  onBackendClosed(conn: BackendConnection): void;
  onBackendDrain(): void;
}

/** COM_RESET_CONNECTION then COM_QUERY "SELECT DATABASE()", each a command of its own (sequence 0). */
const RESET_AND_ASK_SCHEMA = Buffer.concat([
  framePacket(Buffer.from([Com.RESET_CONNECTION]), 0),
  framePacket(Buffer.from('\x03SELECT DATABASE()', 'latin1'), 0),
]);

/**
 * Reads the replies to RESET_AND_ASK_SCHEMA: the reset's OK, then a one-column, one-row text result
 * set (column count, column definition, EOF unless DEPRECATE_EOF, the row, its terminator).
 */
export class ResetReplyReader {
  /** The schema the server reports, null for none. */
  schema: string | null = null;
  /** The server answered one of the two with an ERR: the connection must not be reused. */
  failed = false;
  private step: number = ResetStep.RESET_OK;

  constructor(private readonly deprecateEof: boolean) {}

  /** Feeds one whole packet (with header); true once the last reply is complete. */
  onPacket(packet: Buffer): boolean {
    if (packet.length < 5) throw new ProtocolError('backend connection closed during the reset');
    const first = packet[4]!;
    if (first === 0xff) {
      // Either command failed: the connection is closed, so whatever else it sends does not matter.
      this.failed = true;
      return true;
    }
    switch (this.step) {
      case ResetStep.RESET_OK:
        if (first !== 0x00) throw new ProtocolError(`unexpected reply 0x${first.toString(16)} to a reset`);
        this.step = ResetStep.COLUMN_COUNT;
        return false;
      case ResetStep.COLUMN_COUNT:
        if (first !== 0x01) throw new ProtocolError('SELECT DATABASE() did not return one column');
        this.step = ResetStep.COLUMN_DEFINITION;
        return false;
      case ResetStep.COLUMN_DEFINITION:
        this.step = this.deprecateEof ? ResetStep.ROW : ResetStep.COLUMNS_EOF;
        return false;
      case ResetStep.COLUMNS_EOF:
        this.step = ResetStep.ROW;
        return false;
      case ResetStep.ROW: // NULL (0xfb) or one length-encoded string
        this.schema = first === 0xfb ? null : readLenencString(packet, 4);
        this.step = ResetStep.TERMINATOR;
        return false;
      default: // the row terminator (EOF, or OK with header 0xfe)
        return true;
    }
  }
}

/** Where ResetReplyReader is in the two replies. */
const ResetStep = {
  RESET_OK: 0,
  COLUMN_COUNT: 1,
  COLUMN_DEFINITION: 2,
  COLUMNS_EOF: 3,
  ROW: 4,
  TERMINATOR: 5,
} as const;

function readLenencString(packet: Buffer, offset: number): string {
  const size = lenencSize(packet[offset]!);
  const length = readLenenc(packet, offset);
  return packet.toString('utf8', offset + size, offset + size + length);
}

let nextBackendId = 1;

/** A backend read holds up to this much of a response (a result set streams through in such reads). */
const BACKEND_READ_BYTES = 64 * 1024;

export class BackendConnection {
  readonly id = nextBackendId++;
  readonly createdAt: number;
  lastUsedAt: number;
  /**
   * The default database, null for none, undefined when unknown. Set from what the server confirmed:
   * the handshake's database, Athena's own COM_INIT_DB, the server's answer after a reset; never
   * from a client's SQL.
   */
  currentDb: string | null | undefined;
  /** Session state that COM_RESET_CONNECTION may not undo was touched (e.g. COM_SET_OPTION): discard. */
  discardOnRelease = false;
  sink: BackendSink | null = null;
  closed = false;
  /** Where its round trips and bytes are counted (the pool hands in the metrics' counters). */
  traffic: BackendTraffic = { roundTrips: 0, bytes: 0 };
  /** Internal command in progress (reset, init db), answered by one packet. */
  private internalReply: ((packet: Buffer) => void) | null = null;
  private readonly internalFramer = new PacketFramer((p) => this.internalReply?.(p));

  private constructor(
    readonly socket: net.Socket,
    readonly profile: SessionProfile,
    readonly serverVersion: string,
    readonly serverCapabilities: number,
    /** Capabilities negotiated with the server. */
    readonly capabilities: number,
    database: string | null,
    now: number,
    /** The TCP socket's reader; null over TLS, whose socket emits 'data'. */
    reader: SocketReader | null,
  ) {
    this.createdAt = now;
    this.lastUsedAt = now;
    this.currentDb = database;
    if (reader !== null) reader.onChunk = this.onData;
    else socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('close', this.onClose);
    socket.on('error', () => undefined); // 'close' follows
  }

  private readonly onData = (chunk: Buffer): boolean => {
    this.traffic.bytes += chunk.length;
    if (this.sink !== null) return this.sink.onBackendData(chunk);
    if (this.internalReply !== null) this.internalFramer.push(chunk);
    else this.destroy(); // unsolicited bytes (e.g. the server killed the connection): unusable
    return false;
  };

  private readonly onDrain = (): void => {
    this.sink?.onBackendDrain();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    const sink = this.sink;
    this.sink = null;
    sink?.onBackendClosed(this);
    this.internalReply?.(Buffer.alloc(0));
  };

  write(data: Buffer): boolean {
    this.traffic.bytes += data.length;
    return this.socket.write(data);
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Sends COM_QUIT and closes. */
  quit(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(framePacket(Buffer.from([Com.QUIT]), 0));
    this.socket.destroySoon();
  }

  /**
   * Runs one command that answers with a single OK/ERR packet (COM_RESET_CONNECTION, COM_INIT_DB,
   * COM_PING). Resolves null on OK, the error on ERR; rejects when the connection breaks or times out.
   */
  simpleCommand(payload: Buffer, timeoutMs: number): Promise<ErrInfo | null> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('backend connection is closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.internalReply = null;
        this.destroy();
        reject(new Error(`backend did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.internalReply = (packet) => {
        clearTimeout(timer);
        this.internalReply = null;
        if (packet.length < 5) {
          this.destroy();
          reject(new Error('backend connection closed'));
        } else if (packet[4] === 0xff) {
          resolve(parseErr(packet.subarray(4)));
        } else if (packet[4] === 0x00) {
          resolve(null);
        } else {
          this.destroy();
          reject(new ProtocolError(`unexpected reply 0x${packet[4]!.toString(16)} to an internal command`));
        }
      };
      const packet = framePacket(payload, 0);
      this.traffic.roundTrips++;
      this.traffic.bytes += packet.length;
      this.socket.write(packet);
    });
  }

  /**
   * COM_RESET_CONNECTION (rolls back, drops temporary tables, user variables, prepared statements,
   * locks, restores session variables), then asks the server which schema the connection is on:
   * the reset keeps the schema, and only the server knows it for sure (a client's SQL can change it
   * in ways a statement reader misses). Both commands go in one write: one round trip.
   */
  async reset(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false;
    const reader = new ResetReplyReader((this.capabilities & Cap.DEPRECATE_EOF) !== 0);
    this.currentDb = undefined;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.internalReply = null;
        this.destroy();
        reject(new Error(`backend did not answer the reset within ${timeoutMs} ms`));
      }, timeoutMs);
      this.internalReply = (packet) => {
        let finished: boolean;
        try {
          finished = reader.onPacket(packet);
        } catch (error) {
          finished = true;
          this.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
        if (!finished) return;
        clearTimeout(timer);
        this.internalReply = null;
        resolve();
      };
      // Two commands in one write: one round trip.
      this.traffic.roundTrips++;
      this.traffic.bytes += RESET_AND_ASK_SCHEMA.length;
      this.socket.write(RESET_AND_ASK_SCHEMA);
    });
    try {
      await done;
    } catch {
      return false;
    }
    if (reader.failed) return false;
    this.currentDb = reader.schema;
    return true;
  }

  /** COM_INIT_DB; throws BackendError when the server refuses (e.g. 1049 unknown database). */
  async useDatabase(database: string, timeoutMs: number): Promise<void> {
    const err = await this.simpleCommand(
      Buffer.concat([Buffer.from([Com.INIT_DB]), Buffer.from(database, 'utf8')]),
      timeoutMs,
    );
    if (err !== null) throw BackendError.from(err);
    this.currentDb = database;
  }

  /**
   * Opens a connection and authenticates. Rejects with a BackendError: 2003 when the server cannot
   * be reached or does not complete the handshake in time, the server's own error otherwise.
   */
  static connect(
    target: BackendTarget,
    profile: SessionProfile,
    database: string | null,
    timeoutMs: number,
    now: () => number = Date.now,
  ): Promise<BackendConnection> {
    return new Promise((resolve, reject) => {
      new BackendConnector(target, profile, database, timeoutMs, reject, (socket, auth, reader) => {
        const h = auth.handshake!;
        resolve(
          new BackendConnection(
            socket,
            profile,
            h.serverVersion,
            h.capabilities,
            auth.capabilities,
            database,
            now(),
            reader,
          ),
        );
      });
    });
  }
}

/** The socket an authenticated connection speaks on, and its reader (null over TLS). */
type Connected = (socket: net.Socket, auth: BackendAuthenticator, reader: SocketReader | null) => void;

/**
 * One attempt to open a backend connection: TCP, then the connection phase (BackendAuthenticator),
 * switching to TLS when the authenticator asks. Settles once: `connected`, or `failed` with a
 * BackendError (2003 when the server cannot be reached or does not finish in time).
 */
class BackendConnector {
  private readonly where: string;
  private readonly reader = new SocketReader(BACKEND_READ_BYTES);
  private readonly socket: net.Socket;
  /** The socket the connection speaks on: the TCP one, or the TLS one over it. */
  private active: net.Socket;
  private readonly auth: BackendAuthenticator;
  private readonly framer = new PacketFramer((packet) => this.onPacket(packet));
  private readonly timer: ReturnType<typeof setTimeout>;
  private settled = false;

  constructor(
    private readonly target: BackendTarget,
    profile: SessionProfile,
    database: string | null,
    timeoutMs: number,
    private readonly failed: (error: BackendError) => void,
    private readonly connected: Connected,
  ) {
    this.where = `${target.host}:${target.port}`;
    const socket = net.connect({ host: target.host, port: target.port, onread: this.reader.onread });
    socket.setNoDelay(true);
    this.socket = socket;
    this.active = socket;
    this.timer = setTimeout(
      () => this.fail(this.cantConnect(`no handshake within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('error', (error: NodeJS.ErrnoException) =>
      this.fail(this.cantConnect(error.code ?? error.message)),
    );
    socket.once('close', () => this.fail(this.cantConnect('connection closed during the handshake')));
    this.auth = new BackendAuthenticator(target, profile, database);
    this.reader.onChunk = (chunk) => {
      this.framer.push(chunk); // keeps copies of partial packets only; whole ones are parsed right away
      return false;
    };
  }

  private fail(error: BackendError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.socket.destroy();
    this.failed(error);
  }

  private cantConnect(reason: string): BackendError {
    return new BackendError(
      ErrorCode.CONN_HOST_ERROR.errno,
      ErrorCode.CONN_HOST_ERROR.sqlState,
      `Can't connect to MySQL server on '${this.where}' (${reason})`,
    );
  }

  private onPacket(packet: Buffer): void {
    if (this.settled) return;
    try {
      const reply = this.auth.onPacket(packet);
      if (reply !== null) this.active.write(reply);
      if (this.auth.tls && this.active === this.socket) this.startTls();
      if (this.auth.done) this.succeed();
    } catch (error) {
      if (error instanceof BackendError) this.fail(error);
      else this.fail(this.cantConnect(error instanceof Error ? error.message : String(error)));
    }
  }

  /** Authenticated: the connection's socket is handed over without this attempt's listeners. */
  private succeed(): void {
    // Checked before settling, so that the attempt fails rather than never settles.
    if (this.framer.hasPartial) throw new ProtocolError('bytes after the authentication OK');
    this.settled = true;
    clearTimeout(this.timer);
    for (const s of new Set([this.socket, this.active])) {
      s.removeAllListeners('error');
      s.removeAllListeners('close');
    }
    this.active.removeAllListeners('data');
    this.connected(this.active, this.auth, this.active === this.socket ? this.reader : null);
  }

  private startTls(): void {
    const { target, where } = this;
    const ssl = target.ssl!;
    const secure = tls.connect({
      socket: this.socket,
      host: target.host,
      ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
      ...(ssl.ca === null ? {} : { ca: ssl.ca }),
      rejectUnauthorized: ssl.check !== 'none',
      checkServerIdentity: ssl.check === 'identity' ? tls.checkServerIdentity : () => undefined,
      minVersion: 'TLSv1.2',
    });
    this.active = secure;
    secure.once('secureConnect', () => secure.write(this.auth.takeResponseAfterTls()));
    secure.once('error', (error: NodeJS.ErrnoException) =>
      this.fail(
        new BackendError(
          SSL_CONNECTION_ERROR.errno,
          SSL_CONNECTION_ERROR.sqlState,
          `TLS with the backend ${where} failed (ssl_mode = ${ssl.mode}): ${error.message}` +
            tlsFailureHint(ssl, target.host, error.code),
        ),
      ),
    );
    secure.on('data', (chunk: Buffer) => this.framer.push(chunk));
  }
}

/**
 * The client side of the connection phase, as a state machine over whole packets: feed each server
 * packet to onPacket(), write back what it returns. Separate from the socket so tests can drive it.
 */
export class BackendAuthenticator {
  handshake: ReturnType<typeof parseServerHandshake> | null = null;
  capabilities = 0;
  done = false;
  private plugin = NATIVE_PASSWORD_PLUGIN;
  private scramble: Buffer = Buffer.alloc(0);
  private awaitingPublicKey = false;
  /** The connection switches to TLS after the SSLRequest; the handshake response then follows over it. */
  tls = false;
  private responseAfterTls: Buffer | null = null;

  constructor(
    private readonly target: BackendTarget,
    private readonly profile: SessionProfile,
    private readonly database: string | null,
  ) {}

  /** Returns the packet to send back (with its header), or null. Throws BackendError on ERR. */
  onPacket(packet: Buffer): Buffer | null {
    const seq = packet[3]!;
    const payload = packet.subarray(4);
    if (this.handshake === null) return this.onServerHandshake(seq, payload);
    const first = payload[0];
    if (first === 0x00) {
      this.done = true;
      return null;
    }
    if (first === 0xff) {
      // The server's own error (e.g. 1049 unknown database) means the same to the client; an access
      // denied would not: it is about Athena's backend credentials, not the client's.
      const err = parseErr(payload);
      throw BackendError.from(err, err.errno === 1045 ? 'backend authentication failed: ' : '');
    }
    if (first === 0xfe) return this.onAuthSwitch(seq, payload);
    if (first === 0x01 && this.plugin === CACHING_SHA2_PLUGIN) {
      const reply = this.onCachingSha2(seq, payload);
      if (reply !== undefined) return reply;
    }
    throw new ProtocolError(`unexpected packet 0x${(first ?? 0).toString(16)} during backend authentication`);
  }

  /** The server's greeting: negotiates capabilities and plugin, answers (or asks for TLS first). */
  private onServerHandshake(seq: number, payload: Buffer): Buffer {
    if (payload[0] === 0xff) throw BackendError.from(parseErr(payload), 'backend refused the connection: ');
    const h = parseServerHandshake(payload);
    this.handshake = h;
    if ((h.capabilities & Cap.PROTOCOL_41) === 0)
      throw new ProtocolError('backend does not speak protocol 4.1');
    this.capabilities =
      ((this.profile.capabilities | REQUIRED_CAPABILITIES | (this.database ? Cap.CONNECT_WITH_DB : 0)) &
        h.capabilities) >>>
      0;
    this.scramble = h.scramble;
    this.plugin = h.authPlugin === CACHING_SHA2_PLUGIN ? CACHING_SHA2_PLUGIN : NATIVE_PASSWORD_PLUGIN;
    const ssl = this.target.ssl;
    if (ssl !== undefined && (h.capabilities & Cap.SSL) === 0 && ssl.mode !== 'preferred') {
      throw new BackendError(
        SSL_CONNECTION_ERROR.errno,
        SSL_CONNECTION_ERROR.sqlState,
        `backend does not offer TLS, and ssl_mode = ${ssl.mode} requires it`,
      );
    }
    this.tls = ssl !== undefined && (h.capabilities & Cap.SSL) !== 0;
    if (this.tls) this.capabilities = (this.capabilities | Cap.SSL) >>> 0;
    const response = buildHandshakeResponse({
      capabilities: this.capabilities,
      collation: this.profile.collation,
      user: this.target.user,
      authResponse: this.token(),
      database: this.database,
      authPlugin: this.plugin,
    });
    if (!this.tls) return framePacket(response, seq + 1);
    // SSLRequest: the response's first 32 bytes (capabilities with SSL, max packet, collation).
    this.responseAfterTls = framePacket(response, seq + 2);
    return framePacket(response.subarray(0, 32), seq + 1);
  }

  /** AuthSwitchRequest: answer the new plugin's scramble (only the two plugins Athena speaks). */
  private onAuthSwitch(seq: number, payload: Buffer): Buffer {
    const sw = parseAuthSwitch(payload);
    if (sw.plugin !== NATIVE_PASSWORD_PLUGIN && sw.plugin !== CACHING_SHA2_PLUGIN) {
      throw new BackendError(
        ErrorCode.ACCESS_DENIED.errno,
        ErrorCode.ACCESS_DENIED.sqlState,
        `backend asked for authentication plugin '${sw.plugin}', which Athena does not support (use mysql_native_password or caching_sha2_password)`,
      );
    }
    this.plugin = sw.plugin;
    this.scramble = Buffer.from(sw.data); // a view of the read buffer: copy, it is used later
    return framePacket(this.token(), seq + 1);
  }

  /**
   * caching_sha2_password's extra data (0x01): the server's public key, or fast auth succeeded (null:
   * the OK follows), or full authentication asked; undefined for anything else.
   */
  private onCachingSha2(seq: number, payload: Buffer): Buffer | null | undefined {
    const { target } = this;
    if (this.awaitingPublicKey) {
      // Asked for only when the configuration opts in (get_server_public_key).
      this.awaitingPublicKey = false;
      let key;
      try {
        key = rsaPublicKey(payload.subarray(1));
      } catch (error) {
        throw new ProtocolError(`backend sent an unusable RSA public key: ${(error as Error).message}`);
      }
      return framePacket(rsaEncryptPassword(target.password, this.scramble, key), seq + 1);
    }
    const status = payload[1];
    if (status === 0x03) return null; // fast auth succeeded; the OK follows
    if (status !== 0x04) return undefined;
    const step = fullAuthStep(target, this.tls, `${target.host}:${target.port}`);
    switch (step.kind) {
      case 'password_over_tls':
        return framePacket(Buffer.from(`${target.password}\0`, 'utf8'), seq + 1);
      case 'encrypt_with_pinned_key':
        return framePacket(rsaEncryptPassword(target.password, this.scramble, step.key), seq + 1);
      case 'request_server_key':
        this.awaitingPublicKey = true;
        return framePacket(Buffer.from([0x02]), seq + 1);
      case 'refuse':
        throw new BackendError(AUTH_PLUGIN_ERROR.errno, AUTH_PLUGIN_ERROR.sqlState, step.reason);
    }
  }

  /** The handshake response to send once TLS is up (after the SSLRequest). */
  takeResponseAfterTls(): Buffer {
    const response = this.responseAfterTls;
    this.responseAfterTls = null;
    if (response === null) throw new ProtocolError('no TLS switch pending');
    return response;
  }

  private token(): Buffer {
    return this.plugin === CACHING_SHA2_PLUGIN
      ? cachingSha2Token(this.target.password, this.scramble)
      : nativePasswordToken(this.target.password, this.scramble);
  }
}
