// One client connection: the connection phase (ClientLogin, clientLogin.ts, up to the client's answer
// to the scramble; then the password check against [[users]] here), then the command loop.
//
// Pinning rule (see proxy/docs/PROTOCOL.md): the session takes one backend connection from its
// shard's pool at its first command that needs the server and keeps it for its whole life; when the
// client goes away the connection is reset (COM_RESET_CONNECTION) before the pool hands it to anyone
// else, or closed when it was in the middle of a command.
//
// Hot path per command: frame the client packet (a subarray view), classify it, admit it, write it
// to the backend unchanged; then write each backend chunk to the client as it arrives while the
// ResponseScanner finds where the response ends. No per-command closures or copies.
import type net from 'node:net';
import tls from 'node:tls';
// Imported, not the global: the global `performance` is a getter on globalThis, looked up per call.
import { performance } from 'node:perf_hooks';
import type { UserConfig } from '../config.ts';
import { addressGroup } from '../limits/preAuthGuard.ts';
import { LimitRejectedError } from '../limits/errors.ts';
import { classifyStatement, type StatementType } from '../statementType.ts';
import { newScramble } from '../protocol/auth.ts';
import {
  Cap,
  Com,
  DEFAULT_COLLATION,
  ErrorCode,
  MAX_PACKET_PAYLOAD,
  NATIVE_PASSWORD_PLUGIN,
  Status,
} from '../protocol/constants.ts';
import { PacketFramer } from '../protocol/framer.ts';
import { buildAuthSwitch, parseChangeUser } from '../protocol/handshake.ts';
import { errPacket, framePacket, okPacket, type MysqlErrorCode } from '../protocol/packets.ts';
import { ResponseKind, ResponseScanner } from '../protocol/responseScanner.ts';
import {
  BackendError,
  makeProfile,
  type BackendConnection,
  type BackendSink,
  type SessionProfile,
} from './backendConnection.ts';
import { NO_RESPONSE, RESPONSE_KIND, refusedCommandMessage } from './commands.ts';
import {
  ClientLogin,
  decideLogin,
  type ClientHello,
  type LoginHost,
  type LoginRefusal,
  throttledMessage,
} from './clientLogin.ts';
import { logField } from './logText.ts';
import type { ProxyContext } from './proxyContext.ts';
import type { ShardPool } from './pool.ts';
import { PreparedStatements } from './preparedStatements.ts';
import type { SocketReader } from './socketReader.ts';

/**
 * Capabilities Athena offers clients (SSL is added when server.tls_cert_file is set). Never COMPRESS or
 * LOCAL_FILES; never MariaDB's extended ones.
 */
export const ADVERTISED_CAPABILITIES =
  Cap.LONG_PASSWORD |
  Cap.FOUND_ROWS |
  Cap.LONG_FLAG |
  Cap.CONNECT_WITH_DB |
  Cap.NO_SCHEMA |
  Cap.ODBC |
  Cap.IGNORE_SPACE |
  Cap.PROTOCOL_41 |
  Cap.INTERACTIVE |
  Cap.IGNORE_SIGPIPE |
  Cap.TRANSACTIONS |
  Cap.RESERVED |
  Cap.SECURE_CONNECTION |
  Cap.MULTI_STATEMENTS |
  Cap.MULTI_RESULTS |
  Cap.PS_MULTI_RESULTS |
  Cap.PLUGIN_AUTH |
  Cap.CONNECT_ATTRS |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Cap.SESSION_TRACK |
  Cap.DEPRECATE_EOF;

/** A COM_CHANGE_USER whose client was asked to switch to mysql_native_password. */
interface ChangeUserRequest {
  readonly user: string;
  readonly database: string | null;
  readonly collation: number | null;
}

/**
 * Where a session is. `login`: the connection phase up to the password check (ClientLogin has the
 * packets). `loginCheck`: credentials accepted; the backend is asked about the database the client
 * named, then the OK goes out with `okSeq`. Then `commands`, the command loop, until `closed`.
 * COM_CHANGE_USER logs in again from `commands`, through `changeUserSwitch` when the client needs an
 * auth switch. Whether a command is in progress (`busy`, `inFlight`) is per command and stays out of
 * the phase: the data path allocates nothing.
 */
type SessionPhase =
  | { readonly kind: 'login' }
  | { readonly kind: 'loginCheck'; readonly okSeq: number }
  | { readonly kind: 'commands' }
  | { readonly kind: 'changeUserSwitch'; readonly request: ChangeUserRequest }
  | { readonly kind: 'closed' };

// The phases without data, one object each; the data path tests `this.phase === COMMANDS`.
const LOGIN: SessionPhase = { kind: 'login' };
const COMMANDS: SessionPhase = { kind: 'commands' };
const CLOSED: SessionPhase = { kind: 'closed' };

/** How many commands a client may pipeline before Athena stops reading from it. */
const MAX_PIPELINED = 64;
/** How many bytes of pipelined commands Athena holds before it stops reading (beyond one command). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/**
 * What a session holds of received commands without drawing on server.command_memory_budget: a
 * budget used up by others must not break a command that merely arrived in a few reads.
 */
const FREE_COMMAND_BYTES = 64 * 1024;

/** The budget a session owes for `held` bytes of received commands. */
function budgetCharge(held: number): number {
  return Math.max(0, held - FREE_COMMAND_BYTES);
}

let nextConnectionId = 1;

export class ClientSession implements BackendSink, LoginHost {
  readonly connectionId = nextConnectionId++;
  private phase: SessionPhase = LOGIN;
  private readonly login: ClientLogin;
  private framer: PacketFramer;

  // Who the client is, once authenticated.
  private user: UserConfig | null = null;
  private capabilities = 0;
  private collation = DEFAULT_COLLATION;
  private database: string | null = null;
  private profile: SessionProfile | null = null;
  private pool: ShardPool | null = null;

  // Command loop.
  private backend: BackendConnection | null = null;
  private acquiring = false;
  /** A command is being admitted, forwarded, or answered. */
  private busy = false;
  private inFlight = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private largeCommand: Buffer[] | null = null;
  /** Payload bytes of largeCommand so far (server.max_allowed_packet bounds the whole command). */
  private largeCommandBytes = 0;
  /** Bytes received for the split packet the framer is gathering (its buffer's size). */
  private gatheringBytes = 0;
  /** Bytes received for packets not forwarded yet: gathered ones and the copies that join them. */
  private heldBytes = 0;
  /** What the session has taken of ctx.commandMemory: budgetCharge(gatheringBytes + heldBytes). */
  private chargedBytes = 0;
  /** Whose share of the budget chargedBytes is (the user when the charge began). */
  private chargedTo = '';
  private current: Buffer | null = null;
  private currentCommand = 0;
  private currentType: StatementType = 'other';
  private currentStart = 0;
  /**
   * The session's slot in the circuit: taken for a command and given back when its response is
   * complete, unless the server may hold locks for the session then (see keepsSlot()).
   */
  private release: (() => void) | null = null;
  /** As the server last reported: a transaction is open (SERVER_STATUS_IN_TRANS). */
  private inTransaction = false;
  /** As the server last reported: autocommit is on (SERVER_STATUS_AUTOCOMMIT). */
  private autocommit = true;
  private readonly scanner = new ResponseScanner();
  /** LOCAL INFILE refused: the backend's answer to the empty file is swallowed, then this ERR seq is used. */
  private infileErrSeq = -1;
  /** Per prepared statement: its type (an EXECUTE is labelled like it), parameters, unsent types. */
  private readonly statements = new PreparedStatements();
  private preparingType: StatementType = 'other';
  /** The database a COM_INIT_DB in flight selects. */
  private selectingDb: string | null = null;
  private readingPaused = false;
  private backendPaused = false;
  private counted = false;
  /** The client's address, kept: the socket forgets it once closed. */
  private readonly address: string;
  /** What per-address limits count it under (an IPv6 address's /64). */
  readonly addressGroup: string;
  private readonly port: number;
  /** Not logged in yet: holds one of its address's handshake slots. */
  private handshaking = true;
  /** performance.now() when the last command ended (or the login did): idle since then unless busy. */
  private idleSince = 0;

  /**
   * `reader`: the socket reads through it (one reused buffer, see socketReader.ts); without one,
   * through the socket's 'data' events.
   */
  constructor(
    private socket: net.Socket,
    private readonly ctx: ProxyContext<ClientSession>,
    reader: SocketReader | null = null,
  ) {
    this.address = socket.remoteAddress ?? '?';
    this.addressGroup = addressGroup(this.address);
    this.port = socket.remotePort ?? 0;
    this.framer = this.newFramer();
    this.login = new ClientLogin(this, ctx, newScramble());
    ctx.metrics.unauthenticatedChanged(1);
    socket.setNoDelay(true);
    this.listen(socket, reader);
    ctx.metrics.connectionOpened();
    this.login.greet();
  }

  get isIdle(): boolean {
    return !this.busy && this.phase === COMMANDS;
  }

  /** Not logged in yet: holds a handshake slot. */
  get isHandshaking(): boolean {
    return this.handshaking;
  }

  /** Gives up this handshake's slot to a newcomer from a less busy address (server.max_handshakes). */
  evictHandshake(): void {
    this.ctx.log(`client ${this.describe()} dropped mid-handshake to make room (server.max_handshakes)`);
    this.refuse(
      this.login.nextSequence,
      ErrorCode.CON_COUNT_ERROR,
      `Too many connections still logging in: this one made room for a client from a less busy address (server.max_handshakes = ${this.ctx.config.server.max_handshakes})`,
    );
  }

  /** Closes the client connection (and gives back its backend connection). */
  close(): void {
    if (this.phase === CLOSED) return;
    this.socket.end();
    this.socket.destroySoon();
    this.finish();
  }

  /**
   * Closes the session, with ERR 4031 as MySQL does past wait_timeout, when it is logged in, runs no
   * command and has run none since `cutoff` (a performance.now() time). Inside a transaction too:
   * that is the session most worth closing (it keeps its circuit slot and the server's locks), and
   * the reset of its backend connection rolls the transaction back. True when it closed.
   */
  closeIfIdleSince(cutoff: number): boolean {
    // A client that began COM_CHANGE_USER and never answers the auth switch is idle too.
    const waiting = this.phase === COMMANDS ? !this.busy : this.phase.kind === 'changeUserSwitch';
    if (!waiting || this.idleSince > cutoff) return false;
    this.ctx.metrics.clientIdleTimedOut();
    const timeout = this.ctx.config.server.client_idle_timeout_secs;
    // Sequence 1: what the client reads as the answer to the command it sends next.
    this.writeError(
      1,
      ErrorCode.CLIENT_INTERACTION_TIMEOUT,
      `The client was disconnected by the server because of inactivity (server.client_idle_timeout_secs = ${timeout})`,
    );
    this.close();
    return true;
  }

  /** Shutdown: close now if idle, otherwise after the response in flight. */
  closeWhenIdle(): void {
    if (!this.busy || this.phase !== COMMANDS) this.close();
  }

  // ---- the client socket, TLS, ERR answers --------------------------------------------------

  describe(): string {
    return `${this.address}:${this.port} (#${this.connectionId})`;
  }

  private newFramer(): PacketFramer {
    const framer = new PacketFramer(this.onClientPacket, this.onClientPacketTooLarge);
    framer.maxPayload = this.ctx.config.server.max_handshake_packet;
    return framer;
  }

  /** Client bytes through the reader's reused buffer when there is one, else 'data' events. */
  private listen(socket: net.Socket, reader: SocketReader | null = null): void {
    if (reader !== null) reader.onChunk = this.onClientChunk;
    else socket.on('data', this.onClientData);
    socket.on('drain', this.onClientDrain);
    socket.on('close', this.onClientClose);
    socket.on('error', () => undefined); // 'close' follows
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  /**
   * The client sent an SSLRequest: the TLS handshake follows on the same socket (maybe already in
   * the chunk that carried the request), then the HandshakeResponse over TLS.
   */
  startTls(context: tls.SecureContext): void {
    this.framer.detach((rest) => this.switchToTls(context, rest));
  }

  private switchToTls(context: tls.SecureContext, rest: Buffer): void {
    const raw = this.socket;
    raw.off('data', this.onClientData);
    raw.off('drain', this.onClientDrain);
    raw.off('close', this.onClientClose);
    // The TLS socket takes over the socket's handle; bytes already read (the start of the TLS
    // handshake, sent right behind the SSLRequest) are put back for it to read first.
    raw.pause();
    if (rest.length > 0) raw.unshift(rest);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    this.socket = secure;
    this.framer = this.newFramer();
    this.listen(secure);
  }

  /** Logged in, or gone: the address's handshake slot is free. */
  private leaveHandshake(): void {
    if (!this.handshaking) return;
    this.handshaking = false;
    this.ctx.preAuth.handshakeEnded(this.address);
    this.ctx.metrics.unauthenticatedChanged(-1);
  }

  /** The largest payload the next packet may declare once logged in. */
  private commandPayloadLimit(): number {
    return Math.min(MAX_PACKET_PAYLOAD, this.ctx.config.server.max_allowed_packet - this.largeCommandBytes);
  }

  private readonly onClientPacketTooLarge = (declared: number, seq: number): void => {
    const { server } = this.ctx.config;
    const loggedIn = this.user !== null;
    const key = loggedIn ? 'server.max_allowed_packet' : 'server.max_handshake_packet';
    const limit = loggedIn ? server.max_allowed_packet : server.max_handshake_packet;
    this.ctx.metrics.packetTooLarge(loggedIn ? 'command' : 'handshake');
    this.ctx.log(
      `client ${this.describe()} sent a packet of ${declared} bytes${this.largeCommandBytes > 0 ? ` after ${this.largeCommandBytes} bytes of the same command` : ''}, over ${key} = ${limit}; closing`,
    );
    this.socket.pause();
    // Mid-response an ERR would land inside the response's bytes: then the connection just closes.
    if (!this.inFlight) {
      this.writeError(
        (seq + 1) & 0xff,
        ErrorCode.NET_PACKET_TOO_LARGE,
        `Got a packet bigger than 'max_allowed_packet' bytes (${key} = ${limit})`,
      );
    }
    this.close();
  };

  // ---- server.command_memory_budget: what received commands hold until forwarded -----------

  private readonly reserveGathering = (bytes: number, seq: number): boolean => {
    if (!this.reserveCommandMemory(bytes, seq)) return false;
    this.gatheringBytes += bytes;
    return true;
  };

  /** The split packet the framer gathered is out: what it reserved is held until forwarded. */
  private claimGathered(): void {
    this.heldBytes += this.gatheringBytes;
    this.gatheringBytes = 0;
  }

  /** Takes what `bytes` more add to the session's charge, or answers ERR 1041 and closes the connection. */
  private reserveCommandMemory(bytes: number, seq: number): boolean {
    const budget = this.ctx.commandMemory;
    const charge = budgetCharge(this.gatheringBytes + this.heldBytes + bytes);
    if (this.chargedBytes === 0) this.chargedTo = this.user?.name ?? '';
    if (budget.tryReserve(charge - this.chargedBytes, this.chargedTo)) {
      this.chargedBytes = charge;
      return true;
    }
    this.ctx.metrics.commandMemoryRefused();
    const limit = this.ctx.config.server.command_memory_budget;
    this.ctx.log(
      `client ${this.describe()} needs ${bytes} more bytes for a command while ${budget.held} are held (${budget.heldBy(this.chargedTo)} by its user), over server.command_memory_budget = ${limit} (half of it per user); closing`,
    );
    this.socket.pause();
    // Mid-response an ERR would land inside the response's bytes: then the connection just closes.
    if (!this.inFlight) {
      this.writeError(
        (seq + 1) & 0xff,
        ErrorCode.OUT_OF_RESOURCES,
        `Out of resources: Athena holds ${budget.held} bytes of commands not yet forwarded, ${budget.heldBy(this.chargedTo)} for this user, and this one needs ${bytes} more (server.command_memory_budget = ${limit}, at most half of it per user); retry later`,
      );
    }
    this.close();
    return false;
  }

  /** What received commands reserved goes back once none of them is left unforwarded. */
  private releaseHeld(): void {
    if (this.queue.length > 0 || this.current !== null || this.largeCommand !== null) return;
    this.heldBytes = 0;
    const charge = budgetCharge(this.gatheringBytes);
    this.ctx.commandMemory.release(this.chargedBytes - charge, this.chargedTo);
    this.chargedBytes = charge;
  }

  /** The one way Athena answers the client with an ERR packet (its sequence id is `seq`). */
  private writeError(seq: number, code: MysqlErrorCode, message: string): void {
    this.socket.write(errPacket(seq, code.errno, code.sqlState, message));
  }

  /** Answers with an ERR, then closes the connection. */
  refuse(seq: number, code: MysqlErrorCode, message: string): void {
    this.writeError(seq, code, message);
    this.close();
  }

  // ---- login: the password check, the database check, the OK -------------------------------

  /** LoginHost: the client answered the scramble in its handshake. */
  authenticate(hello: ClientHello, token: Buffer, seq: number): void {
    this.capabilities = hello.capabilities;
    this.collation = hello.collation;
    this.database = hello.database;
    this.checkLogin(hello.user, token, seq);
  }

  /**
   * Checks user and password; on success enters the command phase and answers OK with `seq` (after
   * asking the backend about the client's database when the pool does not know it yet).
   */
  private checkLogin(userName: string, token: Buffer, seq: number): void {
    const preAuth = this.ctx.preAuth;
    if (!preAuth.beginAttempt(this.address)) {
      this.refuseThrottled(userName, seq);
      return;
    }
    const decision = decideLogin(this.ctx, userName, token, this.login.scramble, this.address);
    preAuth.attemptEnded(this.address, !decision.granted && decision.badCredentials);
    if (!decision.granted) {
      this.refuseLogin(userName, decision, seq);
      return;
    }
    const { user, pool } = decision;
    this.ctx.userSessions.set(user.name, (this.ctx.userSessions.get(user.name) ?? 0) + 1);
    this.counted = true;
    this.user = user;
    this.leaveHandshake();
    this.framer.maxPayload = this.commandPayloadLimit();
    // Before login the framer holds at most server.max_handshake_packet: no accounting needed.
    this.framer.reserve = this.reserveGathering;
    this.pool = pool;
    this.profile = makeProfile(this.capabilities, this.collation);
    const db = this.database;
    if (db !== null && this.backend === null && !pool.knownDatabases.has(db)) {
      // Check the database now (and keep the connection): an unknown one fails the handshake.
      this.acquiring = true;
      this.phase = { kind: 'loginCheck', okSeq: seq };
      pool.acquire(this.profile, db).then(this.onAcquiredAtLogin, this.onAcquireFailedAtLogin);
      return;
    }
    this.enterCommandPhase(seq);
  }

  private refuseLogin(userName: string, refusal: LoginRefusal, seq: number): void {
    if (refusal.badCredentials) this.ctx.metrics.loginFailed();
    if (refusal.logReason !== null) {
      this.ctx.log(
        `login refused for user ${logField(userName)} from ${this.describe()}: ${refusal.logReason}`,
      );
    }
    this.refuse(seq, refusal.code, refusal.message);
  }

  /** The address used up its failed-login budget: refused as at accept, the password not judged. */
  private refuseThrottled(userName: string, seq: number): void {
    this.ctx.metrics.loginThrottled();
    this.ctx.log(
      `login refused for user ${logField(userName)} from ${this.describe()}: address throttled (server.max_login_failures_per_ip)`,
    );
    this.refuse(seq, ErrorCode.HOST_BLOCKED, throttledMessage(this.ctx, this.address));
  }

  private readonly onAcquiredAtLogin = (conn: BackendConnection): void => {
    const phase = this.phase;
    if (this.adoptBackend(conn) && phase.kind === 'loginCheck') this.enterCommandPhase(phase.okSeq);
  };

  /** An acquired connection becomes the session's, unless the session closed meanwhile. */
  private adoptBackend(conn: BackendConnection): boolean {
    this.acquiring = false;
    if (this.phase === CLOSED) {
      this.pool!.release(conn, true);
      return false;
    }
    this.backend = conn;
    conn.sink = this;
    return true;
  }

  private readonly onAcquireFailedAtLogin = (error: unknown): void => {
    this.acquiring = false;
    const phase = this.phase;
    if (phase.kind !== 'loginCheck') return; // closed meanwhile
    const e = error instanceof BackendError ? error : null;
    const message = e?.message ?? String(error);
    this.ctx.log(
      `client ${this.describe()} (user ${this.user?.name ?? '?'}) refused at login: ${logField(message)}`,
    );
    this.refuse(phase.okSeq, e ?? ErrorCode.CONN_HOST_ERROR, message);
  };

  private enterCommandPhase(seq: number): void {
    this.phase = COMMANDS;
    this.idleSince = performance.now();
    this.socket.write(okPacket(seq, Status.AUTOCOMMIT));
    if (this.busy === false && this.queue.length > 0) this.runQueue();
  }

  // ---- client bytes, the command loop ------------------------------------------------------

  private readonly onClientData = (chunk: Buffer): void => {
    this.framer.push(chunk);
  };

  /** A chunk in the reader's reused buffer: true when a packet of it is kept beyond this call. */
  private readonly onClientChunk = (chunk: Buffer): boolean => {
    this.framer.push(chunk);
    return (
      this.phase !== COMMANDS || // the connection phase keeps parts of packets: never reuse then
      this.current !== null ||
      this.queue.length > 0 ||
      this.largeCommand !== null ||
      (this.backend !== null && this.backend.socket.writableLength > 0)
    );
  };

  private readonly onClientPacket = (packet: Buffer): void => {
    if (this.gatheringBytes !== 0) this.claimGathered();
    if (this.phase === COMMANDS) this.onCommandPacket(packet);
    else this.onLoginPacket(packet);
  };

  private onLoginPacket(packet: Buffer): void {
    const phase = this.phase;
    switch (phase.kind) {
      case 'login':
        this.login.onPacket(packet);
        return;
      case 'changeUserSwitch':
        this.finishChangeUser(phase.request, packet.subarray(4), packet[3]! + 1);
        return;
      case 'loginCheck':
        // A command sent before the OK (pipelining): it runs once the login completes.
        this.enqueue(packet);
        return;
      default:
        return;
    }
  }

  private onCommandPacket(packet: Buffer): void {
    const command =
      this.largeCommand !== null || packet.length - 4 === MAX_PACKET_PAYLOAD
        ? this.collectLargeCommand(packet)
        : packet;
    if (command === null) return;
    if (this.busy || this.queue.length > 0) {
      this.enqueue(command);
      return;
    }
    this.startCommand(command);
  }

  /**
   * A payload of 16 MB - 1 continues in the next packet: collects the whole command, within
   * server.max_allowed_packet (the framer refuses a header that would go past it). Returns the
   * command once its last packet is in, else null.
   */
  private collectLargeCommand(packet: Buffer): Buffer | null {
    const payloadLength = packet.length - 4;
    if (this.largeCommand === null) this.largeCommand = [packet];
    else this.largeCommand.push(packet);
    this.largeCommandBytes += payloadLength;
    let whole: Buffer | null = null;
    if (payloadLength !== MAX_PACKET_PAYLOAD) {
      // The copy that joins the packets is held too, while the packets wait for the collector.
      const joined = this.largeCommand.reduce((sum, part) => sum + part.length, 0);
      if (!this.reserveCommandMemory(joined, packet[3]!)) return null;
      this.heldBytes += joined;
      whole = Buffer.concat(this.largeCommand, joined);
      this.largeCommand = null;
      this.largeCommandBytes = 0;
    }
    this.framer.maxPayload = this.commandPayloadLimit();
    return whole;
  }

  /** Holds a pipelined command; stops reading the client while too many commands or bytes wait. */
  private enqueue(packet: Buffer): void {
    this.queue.push(packet);
    this.queuedBytes += packet.length;
    if ((this.queue.length >= MAX_PIPELINED || this.queuedBytes >= MAX_QUEUED_BYTES) && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  /** The queue has drained enough to read from the client again. */
  private queueHasRoom(): boolean {
    return this.queue.length < MAX_PIPELINED / 2 && this.queuedBytes < MAX_QUEUED_BYTES / 2;
  }

  /** Runs queued commands until one is waiting for the backend. */
  private runQueue(): void {
    while (!this.busy && this.phase === COMMANDS) {
      const next = this.queue.shift();
      if (next === undefined) break;
      this.queuedBytes -= next.length;
      this.startCommand(next);
    }
    if (this.readingPaused && this.queueHasRoom()) {
      this.readingPaused = false;
      this.socket.resume();
    }
    if (!this.busy && this.ctx.draining) this.close();
  }

  private startCommand(packet: Buffer): void {
    if (packet.length < 5) {
      this.writeError(1, ErrorCode.UNKNOWN_COM_ERROR, 'Empty command packet');
      if (this.heldBytes !== 0) this.releaseHeld();
      return;
    }
    const command = packet[4]!;
    const kind = RESPONSE_KIND[command];
    if (kind === undefined || kind === NO_RESPONSE) {
      this.runUnanswered(packet, command);
      if (this.heldBytes !== 0) this.releaseHeld();
      return;
    }
    this.busy = true;
    this.current = packet;
    this.currentCommand = command;
    this.currentStart = performance.now();
    this.classify(packet, command);
    if (this.backend === null) {
      this.acquireBackend();
      return;
    }
    this.admit();
  }

  /** A command the server does not answer, that Athena answers itself, or that it refuses. */
  private runUnanswered(packet: Buffer, command: number): void {
    this.idleSince = performance.now();
    switch (command) {
      case Com.QUIT:
        this.close();
        return;
      case Com.CHANGE_USER:
        this.startChangeUser(packet);
        return;
      case Com.STMT_CLOSE:
      case Com.STMT_SEND_LONG_DATA:
        // No reply. Without a backend connection there is no statement to act on.
        if (command === Com.STMT_CLOSE) this.statements.closed(packet);
        if (this.backend !== null) this.backend.write(packet);
        return;
      default:
        this.writeError(1, ErrorCode.UNKNOWN_COM_ERROR, refusedCommandMessage(command));
    }
  }

  /** The statement type the command's metrics are labelled with; what PREPARE and INIT_DB will set. */
  private classify(packet: Buffer, command: number): void {
    if (command === Com.QUERY) {
      this.currentType = classifyStatement(packet, 5, packet.length);
    } else if (command === Com.STMT_EXECUTE) {
      this.currentType = this.statements.typeOf(packet);
    } else {
      this.currentType = 'other';
      if (command === Com.STMT_PREPARE) this.preparingType = classifyStatement(packet, 5, packet.length);
      else if (command === Com.INIT_DB) this.selectingDb = packet.toString('utf8', 5);
    }
  }

  private acquireBackend(): void {
    if (this.acquiring) return;
    this.acquiring = true;
    this.pool!.acquire(this.profile!, this.database).then(this.onAcquired, this.onAcquireFailed);
  }

  private readonly onAcquired = (conn: BackendConnection): void => {
    if (this.adoptBackend(conn)) this.admit();
  };

  private readonly onAcquireFailed = (error: unknown): void => {
    this.acquiring = false;
    if (this.phase === CLOSED) return;
    if (error instanceof BackendError) this.failCommand(error, error.message);
    else this.failCommand(ErrorCode.CONN_HOST_ERROR, String(error));
  };

  private admit(): void {
    // A session that kept its slot for its open transaction must not queue behind sessions that
    // may be waiting, in MySQL, on its locks: `null` stands for "admitted on the held slot".
    let admitted: (() => void) | Promise<() => void> | null = null;
    try {
      if (this.release !== null) this.ctx.admission.admitHeld(this.user!.name, this.pool!.shard);
      else admitted = this.ctx.admission.admit(this.user!.name, this.pool!.shard);
    } catch (error) {
      this.onAdmitRejected(error);
      return;
    }
    if (admitted === null) {
      this.forward();
    } else if (typeof admitted === 'function') {
      this.release = admitted;
      this.forward();
    } else {
      admitted.then(this.onAdmitted, this.onAdmitRejected);
    }
  }

  private readonly onAdmitted = (release: () => void): void => {
    if (this.phase === CLOSED || this.backend === null) {
      release();
      return;
    }
    this.release = release;
    this.forward();
  };

  private readonly onAdmitRejected = (error: unknown): void => {
    if (this.phase === CLOSED) return;
    if (error instanceof LimitRejectedError) this.failCommand(error, error.message);
    else this.failCommand(ErrorCode.CONN_HOST_ERROR, String(error));
  };

  /** Answers the current command with an ERR without forwarding it; the session stays usable. */
  private failCommand(code: MysqlErrorCode, message: string): void {
    this.busy = false;
    this.idleSince = performance.now();
    // The client believes the server has the parameter types this execute carried.
    if (this.currentCommand === Com.STMT_EXECUTE && this.current !== null)
      this.statements.refused(this.current);
    this.current = null;
    if (this.heldBytes !== 0) this.releaseHeld();
    this.writeError(1, code, message);
    this.runQueue();
  }

  private readonly onParamTypesResent = (): void => {
    this.ctx.metrics.paramTypesResent();
  };

  private forward(): void {
    const backend = this.backend!;
    const packet =
      this.currentCommand === Com.STMT_EXECUTE
        ? this.statements.toSend(this.current!, this.onParamTypesResent)
        : this.current!;
    this.current = null;
    if (this.heldBytes !== 0) this.releaseHeld();
    this.inFlight = true;
    this.scanner.begin(
      RESPONSE_KIND[this.currentCommand] as ResponseKind,
      (backend.capabilities & Cap.DEPRECATE_EOF) !== 0,
    );
    const cost = this.ctx.costPerQuery;
    if (cost !== null && (this.currentCommand === Com.QUERY || this.currentCommand === Com.STMT_EXECUTE)) {
      cost();
    }
    backend.traffic.roundTrips++;
    if (!backend.write(packet) && !this.readingPaused) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  // ---- backend bytes ----------------------------------------------------------------------

  onBackendData(chunk: Buffer): boolean {
    if (!this.inFlight) {
      // Bytes nobody asked for: the connection is out of step, never reuse it.
      this.ctx.log(
        `backend #${this.backend?.id ?? '?'} sent unsolicited bytes; closing session ${this.describe()}`,
      );
      this.backend?.destroy();
      this.close();
      return false;
    }
    const end = this.scanner.scan(chunk, 0);
    if (this.infileErrSeq >= 0) {
      if (end >= 0) this.completeInfile();
      return false;
    }
    if (end < 0) {
      this.writeToClient(chunk);
      return this.socket.writableLength > 0;
    }
    if (this.scanner.localInfile) {
      this.refuseLocalInfile(chunk);
      return this.socket.writableLength > 0;
    }
    if (end === chunk.length) this.writeToClient(chunk);
    else {
      this.writeToClient(chunk.subarray(0, end));
      this.ctx.log(
        `backend #${this.backend!.id} sent bytes past the end of a response; closing session ${this.describe()}`,
      );
      this.backend!.destroy();
    }
    // Read before complete(): a write that did not finish synchronously still references the chunk.
    const retained = this.socket.writableLength > 0;
    this.complete(this.scanner.failed);
    return retained;
  }

  private writeToClient(data: Buffer): void {
    if (!this.socket.write(data) && !this.backendPaused && this.backend !== null) {
      this.backendPaused = true;
      this.backend.socket.pause();
    }
  }

  private readonly onClientDrain = (): void => {
    if (this.backendPaused) {
      this.backendPaused = false;
      this.backend?.socket.resume();
    }
  };

  onBackendDrain(): void {
    if (this.readingPaused && this.queueHasRoom()) {
      this.readingPaused = false;
      this.socket.resume();
    }
  }

  /** The response is complete: account for it and run the next command. */
  private complete(failed: boolean): void {
    this.inFlight = false;
    this.busy = false;
    if (!this.keepsSlot()) this.releaseSlot();
    const now = performance.now();
    this.idleSince = now;
    this.ctx.metrics.recordQuery(this.currentType, (now - this.currentStart) / 1000, failed);
    const command = this.currentCommand;
    if (command !== Com.QUERY && command !== Com.STMT_EXECUTE) this.afterOtherCommand(command, failed);
    else if (command === Com.QUERY) this.trackQueryEffects();
    if (this.queue.length > 0 || this.ctx.draining || this.readingPaused) this.runQueue();
  }

  /**
   * Whether the session keeps its circuit slot after this response: while the server reports an open
   * transaction, the session may hold row locks that commands in other slots wait for, so it must
   * never queue behind them. A response without status flags (ERR, PREPARE) leaves the last state,
   * except that with autocommit off any statement may have opened a transaction.
   */
  private keepsSlot(): boolean {
    const scanner = this.scanner;
    if (scanner.statusKnown) {
      this.inTransaction = (scanner.statusFlags & Status.IN_TRANS) !== 0;
      this.autocommit = (scanner.statusFlags & Status.AUTOCOMMIT) !== 0;
    } else if (!this.autocommit) {
      this.inTransaction = true;
    }
    return this.inTransaction;
  }

  private releaseSlot(): void {
    const release = this.release;
    this.release = null;
    release?.();
  }

  /**
   * A COM_QUERY Athena cannot type may have been DROP DATABASE: names must be checked again at the
   * next handshakes. (The connection's schema is not inferred from SQL at all: the pool asks the
   * server when the session ends.)
   */
  private trackQueryEffects(): void {
    if (this.currentType === 'other' || this.scanner.results > 1) this.pool!.knownDatabases.clear();
  }

  private afterOtherCommand(command: number, failed: boolean): void {
    const backend = this.backend!;
    switch (command) {
      case Com.STMT_PREPARE:
        if (!failed && this.scanner.statementId >= 0)
          this.statements.prepared(
            this.scanner.statementId,
            this.preparingType,
            this.scanner.statementParams,
          );
        break;
      case Com.INIT_DB:
        if (!failed) this.database = this.selectingDb;
        break;
      case Com.DROP_DB:
        this.pool!.knownDatabases.clear();
        break;
      case Com.RESET_CONNECTION:
        this.statements.clear();
        break;
      case Com.SET_OPTION:
      case Com.REFRESH:
        backend.discardOnRelease = true;
        break;
    }
  }

  /** The server asked for a LOCAL INFILE: send it an empty file, swallow its answer, refuse the client. */
  private refuseLocalInfile(chunk: Buffer): void {
    const start = this.scanner.lastPacketStart;
    if (start < 0) {
      // The request's header straddled chunks and was partly forwarded already: cannot recover the client.
      this.backend!.destroy();
      this.close();
      return;
    }
    if (start > 0) this.writeToClient(chunk.subarray(0, start));
    this.infileErrSeq = this.scanner.lastSequenceId;
    this.backend!.write(Buffer.from([0, 0, 0, (this.infileErrSeq + 1) & 0xff]));
    this.scanner.begin(ResponseKind.QUERY, (this.backend!.capabilities & Cap.DEPRECATE_EOF) !== 0);
  }

  private completeInfile(): void {
    const seq = this.infileErrSeq;
    this.infileErrSeq = -1;
    this.writeError(
      seq,
      ErrorCode.NOT_SUPPORTED_YET,
      'LOAD DATA LOCAL INFILE is not supported by Athena (the file was not sent)',
    );
    this.complete(true);
  }

  onBackendClosed(conn: BackendConnection): void {
    if (this.backend !== conn) return;
    const wasInFlight = this.inFlight;
    this.pool!.release(conn, false);
    this.backend = null;
    if (this.phase === CLOSED) return;
    if (wasInFlight) {
      this.inFlight = false;
      this.writeError(
        this.scanner.packets > 0 ? (this.scanner.lastSequenceId + 1) & 0xff : 1,
        ErrorCode.SERVER_LOST,
        'Lost connection to MySQL server during query',
      );
    }
    // The session's server-side state (transaction, prepared statements, variables) is gone: end it.
    this.close();
  }

  // ---- COM_CHANGE_USER --------------------------------------------------------------------

  private startChangeUser(packet: Buffer): void {
    this.busy = true;
    this.currentStart = performance.now();
    let request;
    try {
      request = parseChangeUser(packet.subarray(4), this.capabilities);
    } catch (error) {
      this.refuse(1, ErrorCode.HANDSHAKE_ERROR, `Bad COM_CHANGE_USER: ${(error as Error).message}`);
      return;
    }
    const pending = { user: request.user, database: request.database, collation: request.collation };
    if (request.authPlugin !== null && request.authPlugin !== NATIVE_PASSWORD_PLUGIN) {
      this.phase = { kind: 'changeUserSwitch', request: pending };
      this.socket.write(framePacket(buildAuthSwitch(NATIVE_PASSWORD_PLUGIN, this.login.scramble), 1));
      return;
    }
    this.finishChangeUser(pending, request.authResponse, 1);
  }

  private finishChangeUser(request: ChangeUserRequest, token: Buffer, seq: number): void {
    this.phase = COMMANDS;
    // Whatever happens next, the old session's server state must not survive.
    if (this.backend !== null) {
      const conn = this.backend;
      this.backend = null;
      this.pool!.release(conn, true);
    }
    // The reset connection has no transaction left: the slot goes back.
    this.releaseSlot();
    this.inTransaction = false;
    this.autocommit = true;
    this.statements.clear();
    if (this.counted && this.user !== null) this.decrementUserSessions(this.user.name);
    this.counted = false;
    this.user = null;
    if (request.collation !== null) this.collation = request.collation & 0xff;
    this.database = request.database;
    this.busy = false;
    this.checkLogin(request.user, token, seq);
    if (this.heldBytes !== 0) this.releaseHeld();
    if (this.user !== null) {
      this.ctx.metrics.recordQuery('other', (performance.now() - this.currentStart) / 1000, false);
      this.runQueue();
    }
  }

  // ---- teardown ---------------------------------------------------------------------------

  private readonly onClientClose = (): void => {
    this.finish();
  };

  private decrementUserSessions(name: string): void {
    const n = (this.ctx.userSessions.get(name) ?? 1) - 1;
    if (n <= 0) this.ctx.userSessions.delete(name);
    else this.ctx.userSessions.set(name, n);
  }

  private finish(): void {
    if (this.phase === CLOSED) return;
    this.phase = CLOSED;
    this.login.stop();
    this.leaveHandshake();
    this.releaseSlot();
    if (this.backend !== null) {
      const conn = this.backend;
      this.backend = null;
      // Mid-response the connection's state is unknown: close it (the server rolls back).
      this.pool!.release(conn, !this.inFlight);
    }
    this.inFlight = false;
    if (this.counted && this.user !== null) this.decrementUserSessions(this.user.name);
    this.counted = false;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.largeCommand = null;
    this.ctx.commandMemory.release(this.chargedBytes, this.chargedTo);
    this.chargedBytes = 0;
    this.gatheringBytes = 0;
    this.heldBytes = 0;
    this.ctx.metrics.connectionClosed();
    this.ctx.sessionEnded(this);
  }
}
