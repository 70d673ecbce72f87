// A raw MySQL-protocol client for tests that must misbehave on purpose: stop mid-handshake, replay
// a scramble, send commands before authenticating, answer an AuthSwitchRequest wrongly.
import net from 'node:net';
import { createHash } from 'node:crypto';

export interface Packet {
  seq: number;
  payload: Buffer;
}

export interface ServerHandshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  scramble: Buffer;
  capabilities: number;
  authPlugin: string;
}

export const CLIENT = {
  LONG_PASSWORD: 0x1,
  CONNECT_WITH_DB: 0x8,
  PROTOCOL_41: 0x200,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
} as const;

const DEFAULT_CAPS =
  CLIENT.LONG_PASSWORD |
  CLIENT.PROTOCOL_41 |
  CLIENT.TRANSACTIONS |
  CLIENT.SECURE_CONNECTION |
  CLIENT.MULTI_RESULTS |
  CLIENT.PLUGIN_AUTH;

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). Empty password: empty token. */
export function nativeToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const stage2 = sha1(stage1);
  const mix = sha1(scramble, stage2);
  const out = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) out[i] = stage1[i]! ^ mix[i]!;
  return out;
}

export function parseServerHandshake(payload: Buffer): ServerHandshake {
  let pos = 0;
  const protocolVersion = payload[pos++]!;
  const versionEnd = payload.indexOf(0, pos);
  const serverVersion = payload.toString('utf8', pos, versionEnd);
  pos = versionEnd + 1;
  const connectionId = payload.readUInt32LE(pos);
  pos += 4;
  const part1 = payload.subarray(pos, pos + 8);
  pos += 9;
  let capabilities = payload.readUInt16LE(pos);
  pos += 2;
  pos += 1; // charset
  pos += 2; // status
  capabilities |= payload.readUInt16LE(pos) << 16;
  pos += 2;
  const authDataLength = payload[pos++]!;
  pos += 10;
  const part2Length = Math.max(13, authDataLength - 8);
  const part2 = payload.subarray(pos, pos + part2Length - 1); // without the trailing NUL
  pos += part2Length;
  const pluginEnd = payload.indexOf(0, pos);
  const authPlugin = payload.toString('utf8', pos, pluginEnd < 0 ? payload.length : pluginEnd);
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities: capabilities >>> 0,
    authPlugin,
  };
}

export function handshakeResponse(options: {
  user: string;
  token: Buffer;
  database?: string;
  authPlugin?: string;
  capabilities?: number;
}): Buffer {
  let caps = options.capabilities ?? DEFAULT_CAPS;
  if (options.database !== undefined) caps |= CLIENT.CONNECT_WITH_DB;
  const head = Buffer.alloc(32);
  head.writeUInt32LE(caps >>> 0, 0);
  head.writeUInt32LE(16 * 1024 * 1024, 4);
  head[8] = 45; // utf8mb4_general_ci
  const parts = [
    head,
    Buffer.from(`${options.user}\0`, 'utf8'),
    Buffer.from([options.token.length]),
    options.token,
  ];
  if (options.database !== undefined) parts.push(Buffer.from(`${options.database}\0`, 'utf8'));
  parts.push(Buffer.from(`${options.authPlugin ?? 'mysql_native_password'}\0`, 'utf8'));
  return Buffer.concat(parts);
}

export function frame(payload: Buffer, seq: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq & 0xff;
  return Buffer.concat([header, payload]);
}

export function comQuery(sql: string): Buffer {
  return Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, 'utf8')]);
}

export interface ErrPacket {
  errno: number;
  sqlState: string;
  message: string;
}

export function parseErrPacket(payload: Buffer): ErrPacket | null {
  if (payload[0] !== 0xff) return null;
  const errno = payload.readUInt16LE(1);
  if (payload[3] === 0x23) {
    return { errno, sqlState: payload.toString('latin1', 4, 9), message: payload.toString('utf8', 9) };
  }
  return { errno, sqlState: '', message: payload.toString('utf8', 3) };
}

/** A TCP connection speaking raw MySQL packets. */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private readonly packets: Packet[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  readonly closedAt: Promise<number>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUIntLE(0, 3);
        if (this.buffered.length < 4 + length) break;
        this.packets.push({ seq: this.buffered[3]!, payload: this.buffered.subarray(4, 4 + length) });
        this.buffered = this.buffered.subarray(4 + length);
      }
      this.waiter?.();
    });
    socket.on('error', () => undefined);
    this.closedAt = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        this.waiter?.();
        resolve(Date.now());
      }),
    );
  }

  /** `localAddress` picks the source address (another 127.0.0.x looks like another host). */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, ...(localAddress === undefined ? {} : { localAddress }) });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The next packet; rejects when the connection closes first or nothing comes within timeoutMs. */
  async read(timeoutMs = 5000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = this.packets.shift();
      if (next !== undefined) return next;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        };
      });
    }
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
