// A raw MySQL-protocol client for tests that must misbehave on purpose: stop mid-handshake, replay
// a scramble, send commands before authenticating, answer an AuthSwitchRequest wrongly.
import net from 'node:net';
import { nativePasswordToken } from '../../proxy/src/protocol/auth.ts';
import { Cap, NATIVE_PASSWORD_PLUGIN } from '../../proxy/src/protocol/constants.ts';
import { parseServerHandshake, type ServerHandshake } from '../../proxy/src/protocol/handshake.ts';
import { framePacket, parseErr, type ErrInfo } from '../../proxy/src/protocol/packets.ts';

// The protocol's arithmetic (scramble, capability flags, handshake parsing, framing) is the
// proxy's own (proxy/src/protocol); what a client sends, and how it misbehaves, is this file's.
export { Cap, parseServerHandshake, type ServerHandshake };

export interface Packet {
  seq: number;
  payload: Buffer;
}

/** The capabilities a plain client announces: protocol 4.1, secure connection, plugin auth. */
export const DEFAULT_CAPABILITIES =
  Cap.LONG_PASSWORD |
  Cap.PROTOCOL_41 |
  Cap.TRANSACTIONS |
  Cap.SECURE_CONNECTION |
  Cap.MULTI_RESULTS |
  Cap.PLUGIN_AUTH;

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). Empty password: empty token. */
export const nativeToken = nativePasswordToken;

/**
 * A HandshakeResponse41 payload. The token goes with a one-byte length, which is also its
 * length-encoded form below 251 bytes (PLUGIN_AUTH_LENENC_CLIENT_DATA).
 */
export function handshakeResponse(options: {
  user: string;
  token: Buffer;
  database?: string;
  authPlugin?: string;
  capabilities?: number;
  collation?: number;
}): Buffer {
  let caps = options.capabilities ?? DEFAULT_CAPABILITIES;
  if (options.database !== undefined) caps |= Cap.CONNECT_WITH_DB;
  const head = Buffer.alloc(32);
  head.writeUInt32LE(caps >>> 0, 0);
  head.writeUInt32LE(16 * 1024 * 1024, 4);
  head[8] = options.collation ?? 45; // utf8mb4_general_ci
  const parts = [
    head,
    Buffer.from(`${options.user}\0`, 'utf8'),
    Buffer.from([options.token.length]),
    options.token,
  ];
  if (options.database !== undefined) parts.push(Buffer.from(`${options.database}\0`, 'utf8'));
  parts.push(Buffer.from(`${options.authPlugin ?? NATIVE_PASSWORD_PLUGIN}\0`, 'utf8'));
  return Buffer.concat(parts);
}

/** A packet header that may lie: `length` need not be the length of what follows. */
export function header(length: number, seq: number): Buffer {
  const h = Buffer.alloc(4);
  h.writeUIntLE(length, 0, 3);
  h[3] = seq & 0xff;
  return h;
}

/** Wire bytes of a payload (split into 16 MB packets as the protocol requires). */
export function frame(payload: Buffer, seq: number): Buffer {
  return framePacket(payload, seq);
}

/** The complete packets of a byte stream (a trailing incomplete one is dropped). */
export function splitPackets(stream: Buffer): Packet[] {
  const out: Packet[] = [];
  let i = 0;
  while (i + 4 <= stream.length) {
    const length = stream.readUIntLE(i, 3);
    if (i + 4 + length > stream.length) break;
    out.push({ seq: stream[i + 3]!, payload: Buffer.from(stream.subarray(i + 4, i + 4 + length)) });
    i += 4 + length;
  }
  return out;
}

export function comQuery(sql: string): Buffer {
  return Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]);
}

export type ErrPacket = ErrInfo;

/** The ERR packet in a payload, or null when it is something else. */
export function parseErrPacket(payload: Buffer): ErrPacket | null {
  return payload[0] === 0xff ? parseErr(payload) : null;
}

/**
 * A TCP connection speaking raw MySQL packets. Read it packet by packet (`read`), or as the byte
 * stream it received (`received`, `packetAt`, `waitFor`) when a test needs offsets into it.
 */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private readonly packets: Packet[] = [];
  private waiters: Array<() => void> = [];
  /** Every byte received so far. */
  received = Buffer.alloc(0);
  closed = false;
  /** The peer sent FIN (or reset) before we sent ours. */
  peerClosedFirst = false;
  private weEnded = false;
  readonly closedAt: Promise<number>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUIntLE(0, 3);
        if (this.buffered.length < 4 + length) break;
        this.packets.push({ seq: this.buffered[3]!, payload: this.buffered.subarray(4, 4 + length) });
        this.buffered = this.buffered.subarray(4 + length);
      }
      this.wake();
    });
    socket.on('error', () => undefined); // ECONNRESET/EPIPE are outcomes, not test errors
    socket.on('end', () => {
      if (!this.weEnded) this.peerClosedFirst = true;
    });
    this.closedAt = new Promise((resolve) =>
      socket.once('close', () => {
        if (!this.weEnded) this.peerClosedFirst = true;
        this.closed = true;
        this.wake();
        resolve(Date.now());
      }),
    );
  }

  /**
   * `localAddress` picks the source address (another 127.0.0.x looks like another host);
   * `timeoutMs` (0: none) bounds the TCP connect.
   */
  static connect(port: number, host = '127.0.0.1', localAddress?: string, timeoutMs = 0): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              socket.destroy();
              reject(new Error(`connect timed out after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new RawClient(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `ready()` holds or the connection closes; false on timeout. */
  async waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.closed) return ready();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** The next packet; rejects when the connection closes first or nothing comes within timeoutMs. */
  async read(timeoutMs = 5000): Promise<Packet> {
    await this.waitFor(() => this.packets.length > 0, timeoutMs);
    const next = this.packets.shift();
    if (next !== undefined) return next;
    if (this.closed) throw new Error('connection closed');
    throw new Error(`no packet within ${timeoutMs} ms`);
  }

  /** The complete packet at byte `offset` of the received stream, with the offset after it; null on timeout. */
  async packetAt(offset: number, timeoutMs: number): Promise<(Packet & { end: number }) | null> {
    const complete = (): boolean => {
      if (this.received.length < offset + 4) return false;
      const length = this.received.readUIntLE(offset, 3);
      return this.received.length >= offset + 4 + length;
    };
    if (!(await this.waitFor(complete, timeoutMs))) return null;
    const length = this.received.readUIntLE(offset, 3);
    return {
      seq: this.received[offset + 3]!,
      payload: this.received.subarray(offset + 4, offset + 4 + length),
      end: offset + 4 + length,
    };
  }

  /** Writes `bytes` in `pieces` writes, each after the previous one was flushed; stops when the connection closes. */
  async writeInPieces(bytes: Buffer, pieces: number): Promise<void> {
    const size = Math.max(1, Math.ceil(bytes.length / pieces));
    for (let at = 0; at < bytes.length; at += size) {
      if (this.closed || this.socket.destroyed) return;
      await new Promise<void>((resolve) => this.socket.write(bytes.subarray(at, at + size), () => resolve()));
    }
  }

  /** Sends our FIN. */
  end(): void {
    this.weEnded = true;
    this.socket.end();
  }

  send(payload: Buffer, seq: number): void {
    this.socket.write(frame(payload, seq));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Reads the server greeting. */
  async handshake(timeoutMs = 5000): Promise<ServerHandshake> {
    const packet = await this.read(timeoutMs);
    return parseServerHandshake(packet.payload);
  }

  /** Reads the greeting and sends a mysql_native_password handshake response (without reading the answer). */
  async sendLogin(user: string, password: string, database?: string): Promise<ServerHandshake> {
    const greeting = await this.handshake();
    this.send(handshakeResponse({ user, token: nativeToken(password, greeting.scramble), database }), 1);
    return greeting;
  }

  /** Greeting + handshake response with mysql_native_password; returns the server's answer. */
  async login(user: string, password: string, database?: string): Promise<Packet> {
    await this.sendLogin(user, password, database);
    return this.read();
  }
}
