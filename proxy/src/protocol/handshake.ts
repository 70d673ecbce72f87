// Connection-phase packets: the server's Handshake v10, the client's HandshakeResponse41,
// AuthSwitchRequest and COM_CHANGE_USER. Used on both sides of the proxy.
import { Cap } from './constants.ts';
import { PayloadReader, ProtocolError, writeLenenc } from './packets.ts';

export interface ServerHandshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** The 20-byte scramble (auth-plugin-data without its trailing NUL). */
  scramble: Buffer;
  capabilities: number;
  collation: number;
  statusFlags: number;
  authPlugin: string;
  /** MariaDB's extended capabilities (0 from MySQL); Athena never passes them on. */
  mariadbCapabilities: number;
}

export function buildServerHandshake(
  h: Omit<ServerHandshake, 'protocolVersion' | 'mariadbCapabilities'>,
): Buffer {
  const version = Buffer.from(h.serverVersion, 'utf8');
  const plugin = Buffer.from(h.authPlugin, 'latin1');
  const payload = Buffer.alloc(
    1 + version.length + 1 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10 + 13 + plugin.length + 1,
  );
  let o = 0;
  payload[o++] = 10;
  version.copy(payload, o);
  o += version.length + 1;
  payload.writeUInt32LE(h.connectionId >>> 0, o);
  o += 4;
  h.scramble.copy(payload, o, 0, 8);
  o += 8 + 1;
  payload.writeUInt16LE(h.capabilities & 0xffff, o);
  o += 2;
  payload[o++] = h.collation & 0xff;
  payload.writeUInt16LE(h.statusFlags, o);
  o += 2;
  payload.writeUInt16LE((h.capabilities >>> 16) & 0xffff, o);
  o += 2;
  payload[o++] = 21;
  o += 10;
  h.scramble.copy(payload, o, 8, 20);
  o += 13;
  plugin.copy(payload, o);
  return payload;
}

export function parseServerHandshake(payload: Buffer): ServerHandshake {
  const r = new PayloadReader(payload);
  const protocolVersion = r.u8('protocol version');
  if (protocolVersion === 0xff) throw new ProtocolError('server refused the connection before the handshake');
  if (protocolVersion !== 10)
    throw new ProtocolError(`unsupported handshake protocol version ${protocolVersion}`);
  const serverVersion = r.nulString();
  const connectionId = r.u32('connection id');
  const part1 = r.bytes(8, 'auth-plugin-data-part-1');
  r.skip(1);
  let capabilities = r.u16('capability flags');
  let collation = 0;
  let statusFlags = 0;
  let authDataLength = 0;
  let mariadbCapabilities = 0;
  if (r.remaining > 0) {
    collation = r.u8('character set');
    statusFlags = r.u16('status flags');
    capabilities |= r.u16('capability flags (upper)') << 16;
    authDataLength = r.u8('auth-plugin-data length');
    r.skip(6);
    mariadbCapabilities = r.u32('MariaDB capabilities');
  }
  capabilities >>>= 0;
  let part2: Buffer = Buffer.alloc(0);
  if (capabilities & Cap.SECURE_CONNECTION) {
    const n = Math.max(13, authDataLength - 8);
    part2 = r.bytes(Math.min(n, r.remaining), 'auth-plugin-data-part-2');
    if (part2.length > 0 && part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
  }
  const authPlugin =
    capabilities & Cap.PLUGIN_AUTH && r.remaining > 0 ? r.nulString() : 'mysql_native_password';
  return {
    protocolVersion,
    serverVersion,
    connectionId,
    scramble: Buffer.concat([part1, part2]),
    capabilities,
    collation,
    statusFlags,
    authPlugin,
    // Only meaningful when the server cleared CLIENT_LONG_PASSWORD (its "I am MariaDB" signal).
    mariadbCapabilities: capabilities & Cap.LONG_PASSWORD ? 0 : mariadbCapabilities,
  };
}

export interface HandshakeResponse {
  capabilities: number;
  maxPacketSize: number;
  collation: number;
  user: string;
  authResponse: Buffer;
  database: string | null;
  authPlugin: string | null;
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload);
  const capabilities = r.u32('capability flags') >>> 0;
  if ((capabilities & Cap.PROTOCOL_41) === 0) {
    throw new ProtocolError('client does not speak protocol 4.1 (CLIENT_PROTOCOL_41 not set)');
  }
  if (capabilities & Cap.SSL && payload.length <= 32) {
    throw new ProtocolError('client asked for TLS, which Athena does not offer');
  }
  const maxPacketSize = r.u32('max packet size');
  const collation = r.u8('character set');
  r.skip(23);
  const user = r.nulString();
  let authResponse: Buffer;
  if (capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes('auth response');
  else if (capabilities & Cap.SECURE_CONNECTION)
    authResponse = r.bytes(r.u8('auth response length'), 'auth response');
  else authResponse = r.nulBytes();
  let database: string | null = null;
  if (capabilities & Cap.CONNECT_WITH_DB && r.remaining > 0) {
    database = r.nulString();
    if (database === '') database = null;
  }
  let authPlugin: string | null = null;
  if (capabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPlugin = r.nulString();
  // Connection attributes (CLIENT_CONNECT_ATTRS) are accepted and not forwarded.
  return { capabilities, maxPacketSize, collation, user, authResponse, database, authPlugin };
}

export function buildHandshakeResponse(h: Omit<HandshakeResponse, 'maxPacketSize'>): Buffer {
  const user = Buffer.from(h.user, 'utf8');
  const db = h.database ? Buffer.from(h.database, 'utf8') : null;
  const plugin = h.authPlugin ? Buffer.from(h.authPlugin, 'latin1') : null;
  const fixed = Buffer.alloc(32);
  let caps = h.capabilities;
  if (db) caps |= Cap.CONNECT_WITH_DB;
  else caps &= ~Cap.CONNECT_WITH_DB;
  fixed.writeUInt32LE(caps >>> 0, 0);
  fixed.writeUInt32LE(0x40000000, 4); // 1 GB, the server caps it at its max_allowed_packet anyway
  fixed[8] = h.collation & 0xff;
  // bytes 9..31: filler (and MariaDB extended capabilities, deliberately left 0)
  const parts: Buffer[] = [fixed, user, Buffer.from([0])];
  if (caps & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA)
    parts.push(writeLenenc(h.authResponse.length), h.authResponse);
  else parts.push(Buffer.from([h.authResponse.length]), h.authResponse);
  if (db) parts.push(db, Buffer.from([0]));
  if (plugin && caps & Cap.PLUGIN_AUTH) parts.push(plugin, Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface AuthSwitchRequest {
  plugin: string;
  data: Buffer;
}

/** AuthSwitchRequest payload: 0xfe, plugin name NUL, plugin data (scramble + NUL for both plugins). */
export function parseAuthSwitch(payload: Buffer): AuthSwitchRequest {
  const r = new PayloadReader(payload, 1);
  const plugin = r.nulString();
  let data = r.rest();
  if (data.length > 0 && data[data.length - 1] === 0) data = data.subarray(0, data.length - 1);
  return { plugin, data };
}

export function buildAuthSwitch(plugin: string, scramble: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([0xfe]),
    Buffer.from(plugin, 'latin1'),
    Buffer.from([0]),
    scramble,
    Buffer.from([0]),
  ]);
}

export interface ChangeUserRequest {
  user: string;
  authResponse: Buffer;
  database: string | null;
  collation: number | null;
  authPlugin: string | null;
}

/** COM_CHANGE_USER payload (first byte 0x11), read with the client's capabilities. */
export function parseChangeUser(payload: Buffer, clientCapabilities: number): ChangeUserRequest {
  const r = new PayloadReader(payload, 1);
  const user = r.nulString();
  const authResponse =
    clientCapabilities & Cap.SECURE_CONNECTION
      ? r.bytes(r.u8('auth response length'), 'auth response')
      : r.nulBytes();
  let database: string | null = r.nulString();
  if (database === '') database = null;
  let collation: number | null = null;
  if (r.remaining >= 2) collation = r.u16('character set');
  let authPlugin: string | null = null;
  if (clientCapabilities & Cap.PLUGIN_AUTH && r.remaining > 0) authPlugin = r.nulString();
  return { user, authResponse, database, collation, authPlugin };
}
