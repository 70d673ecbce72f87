// Reading and writing the basic protocol types (length-encoded integers and strings) and building
// the few packets Athena writes itself (OK, ERR, the 4-byte header).
import { MAX_PACKET_PAYLOAD } from './constants.ts';

/** Reads little-endian 3-byte payload length of the packet header at `offset`. */
export function readPayloadLength(buf: Buffer, offset: number): number {
  return buf[offset]! | (buf[offset + 1]! << 8) | (buf[offset + 2]! << 16);
}

/** Byte length of the length-encoded integer starting with `first` (0 when `first` is not one). */
export function lenencSize(first: number): number {
  if (first < 0xfb) return 1;
  if (first === 0xfc) return 3;
  if (first === 0xfd) return 4;
  if (first === 0xfe) return 9;
  return 0; // 0xfb (NULL) and 0xff are not integers
}

/**
 * Value of the length-encoded integer at buf[offset]. Values above 2^53 lose precision, which is
 * harmless for the counts Athena reads (column counts, affected rows).
 */
export function readLenenc(buf: Buffer, offset: number): number {
  const first = buf[offset]!;
  if (first < 0xfb) return first;
  if (first === 0xfc) return buf.readUInt16LE(offset + 1);
  if (first === 0xfd) return buf.readUIntLE(offset + 1, 3);
  if (first === 0xfe) return Number(buf.readBigUInt64LE(offset + 1));
  return -1;
}

export function writeLenenc(value: number): Buffer {
  if (value < 0xfb) return Buffer.from([value]);
  if (value < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xfc;
    b.writeUInt16LE(value, 1);
    return b;
  }
  if (value < 0x1000000) {
    const b = Buffer.alloc(4);
    b[0] = 0xfd;
    b.writeUIntLE(value, 1, 3);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(value), 1);
  return b;
}

/** A cursor over one packet payload, for the non-hot-path packets (handshake, auth, errors). */
export class PayloadReader {
  offset: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.offset = start;
  }
  get remaining(): number {
    return this.end - this.offset;
  }
  private need(n: number, what: string): void {
    if (this.offset + n > this.end) {
      throw new ProtocolError(`malformed packet: ${what} runs past the end of the payload`);
    }
  }
  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }
  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(what = 'uint32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  lenenc(what = 'length-encoded integer'): number {
    this.need(1, what);
    const size = lenencSize(this.buf[this.offset]!);
    if (size === 0) throw new ProtocolError(`malformed packet: ${what} is not a length-encoded integer`);
    this.need(size, what);
    const v = readLenenc(this.buf, this.offset);
    this.offset += size;
    return v;
  }
  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  skip(n: number, what = 'filler'): void {
    this.need(n, what);
    this.offset += n;
  }
  /** NUL-terminated bytes; a missing NUL takes the rest of the payload. */
  nulBytes(): Buffer {
    const nul = this.buf.indexOf(0, this.offset);
    const stop = nul === -1 || nul >= this.end ? this.end : nul;
    const v = this.buf.subarray(this.offset, stop);
    this.offset = stop === this.end ? this.end : stop + 1;
    return v;
  }
  nulString(): string {
    return this.nulBytes().toString('utf8');
  }
  lenencBytes(what = 'length-encoded string'): Buffer {
    const n = this.lenenc(what);
    return this.bytes(n, what);
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.offset, this.end);
    this.offset = this.end;
    return v;
  }
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/**
 * Frames a payload as one or more packets (splitting at 16 MB - 1 as the protocol requires),
 * numbering them from `sequenceId`. Returns the wire bytes.
 */
export function framePacket(payload: Buffer, sequenceId: number): Buffer {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const out = Buffer.allocUnsafe(4 + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = sequenceId & 0xff;
    payload.copy(out, 4);
    return out;
  }
  const parts: Buffer[] = [];
  let seq = sequenceId;
  let offset = 0;
  for (;;) {
    const len = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.allocUnsafe(4);
    header.writeUIntLE(len, 0, 3);
    header[3] = seq & 0xff;
    parts.push(header, payload.subarray(offset, offset + len));
    offset += len;
    seq++;
    if (len < MAX_PACKET_PAYLOAD) break;
  }
  return Buffer.concat(parts);
}

/** A MySQL error's number and SQLSTATE, as ERR packets carry them. */
export interface MysqlErrorCode {
  readonly errno: number;
  readonly sqlState: string;
}

/** Wire bytes of an ERR packet (protocol 4.1 form, with SQL state). */
export function errPacket(sequenceId: number, errno: number, sqlState: string, message: string): Buffer {
  const msg = Buffer.from(message, 'utf8');
  const payload = Buffer.allocUnsafe(9 + msg.length);
  payload[0] = 0xff;
  payload.writeUInt16LE(errno, 1);
  payload[3] = 0x23; // '#'
  payload.write(sqlState.padEnd(5, '0').slice(0, 5), 4, 'latin1');
  msg.copy(payload, 9);
  return framePacket(payload, sequenceId);
}

/** Wire bytes of an OK packet with no affected rows. `header` is 0x00, or 0xfe for a DEPRECATE_EOF terminator. */
export function okPacket(sequenceId: number, statusFlags: number, header = 0x00): Buffer {
  const payload = Buffer.from([header, 0, 0, statusFlags & 0xff, (statusFlags >> 8) & 0xff, 0, 0]);
  return framePacket(payload, sequenceId);
}

export interface ErrInfo {
  errno: number;
  sqlState: string;
  message: string;
}

/** Parses an ERR payload (first byte 0xff). */
export function parseErr(payload: Buffer): ErrInfo {
  const r = new PayloadReader(payload, 1);
  const errno = r.remaining >= 2 ? r.u16() : 0;
  let sqlState = 'HY000';
  if (r.remaining >= 6 && payload[r.offset] === 0x23) {
    r.skip(1);
    sqlState = r.bytes(5).toString('latin1');
  }
  return { errno, sqlState, message: r.rest().toString('utf8') };
}
