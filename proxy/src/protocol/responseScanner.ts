// Finds where a command's response ends in the backend's byte stream, without buffering it.
//
// The bytes are forwarded to the client exactly as they arrive; this scanner only reads each
// packet's 4-byte header and the first few bytes of its payload (at most PREFIX_BYTES), which is
// all the state machine needs: the column count, the PREPARE_OK counts, the status flags of OK and
// EOF packets. Framing is driven by the command and the column count, never by "first byte 0x00
// means OK": binary result rows and PREPARE_OK also start with 0x00.
import { MAX_PACKET_PAYLOAD, Status } from './constants.ts';

/** What kind of response the command produces. */
export const ResponseKind = {
  /** COM_QUERY: OK / ERR / LOCAL INFILE request / text result sets, chained by MORE_RESULTS_EXISTS. */
  QUERY: 0,
  /** COM_STMT_EXECUTE: OK / ERR / binary result sets (possibly an open cursor, possibly multi-results). */
  EXECUTE: 1,
  /** COM_STMT_PREPARE: ERR or PREPARE_OK followed by parameter and column definitions. */
  PREPARE: 2,
  /** COM_FIELD_LIST: column definitions up to an EOF, or ERR. */
  FIELD_LIST: 3,
  /** COM_STMT_FETCH: binary rows up to an EOF/OK terminator, or ERR. */
  FETCH: 4,
  /** One packet: OK, ERR, EOF or (COM_STATISTICS) a string. */
  SINGLE: 5,
} as const;
export type ResponseKind = (typeof ResponseKind)[keyof typeof ResponseKind];

/** The largest prefix of a payload the state machine reads: OK = 1 + 9 + 9 + 2 bytes. */
export const PREFIX_BYTES = 32;

// States of the machine, in groups onPacket() dispatches on by range: result sets, PREPARE, the rest.
const S_FIRST = 0; // first packet of a (next) result
const S_COLUMNS = 1; // column definitions of a result set
const S_COLUMNS_EOF = 2; // EOF after column definitions (no DEPRECATE_EOF)
const S_ROWS = 3; // rows until the terminator
const S_PREPARE_FIRST = 4;
const S_PARAMS = 5;
const S_PARAMS_EOF = 6;
const S_PREPARE_COLUMNS = 7;
const S_PREPARE_COLUMNS_EOF = 8;
const S_FIELD_LIST = 9;
const S_SINGLE = 10;
const S_DONE = 11;

export class ResponseScanner {
  private state = S_DONE;
  private kind: ResponseKind = ResponseKind.SINGLE;
  private deprecateEof = false;
  /** Packets left in the current run of definitions. */
  private remaining = 0;
  private preparedColumns = 0;

  /** Bytes of the current packet's payload still to skip. */
  private skipRemaining = 0;
  /** The current logical packet is the response's last one. */
  private finalPacket = false;
  /** The previous packet had the maximum length, so the next one continues its payload. */
  private continuation = false;

  /** Header + prefix of a packet whose first bytes straddle chunks. */
  private readonly scratch = Buffer.alloc(4 + PREFIX_BYTES);
  private scratchFilled = 0;

  // Results, valid once scan() has returned an end offset.
  /** An ERR packet was seen in the response. */
  failed = false;
  /** PREPARE_OK's statement id, or -1. */
  statementId = -1;
  /** PREPARE_OK's number of parameters (0 when there is no PREPARE_OK). */
  statementParams = 0;
  /** Status flags of the last OK/EOF seen. */
  statusFlags = 0;
  /** statusFlags were read from the response (an ERR alone, or PREPARE's definitions, carry none). */
  statusKnown = false;
  /** The server asked for a LOCAL INFILE (0xfb): the response is cut at that packet. */
  localInfile = false;
  /** Sequence id of the last packet header read. */
  lastSequenceId = 0;
  /** Offset, in the chunk passed to the last scan(), of the last packet's header; -1 if it began in an earlier chunk. */
  lastPacketStart = -1;
  /** Number of packets (headers) seen in this response. */
  packets = 0;
  /** Number of results (OK, ERR or result sets) in this response: > 1 means multi-statements or CALL. */
  results = 0;

  /** Starts tracking a new response. */
  begin(kind: ResponseKind, deprecateEof: boolean): void {
    this.kind = kind;
    this.deprecateEof = deprecateEof;
    this.state =
      kind === ResponseKind.PREPARE
        ? S_PREPARE_FIRST
        : kind === ResponseKind.FIELD_LIST
          ? S_FIELD_LIST
          : kind === ResponseKind.FETCH
            ? S_ROWS
            : kind === ResponseKind.SINGLE
              ? S_SINGLE
              : S_FIRST;
    this.remaining = 0;
    this.preparedColumns = 0;
    this.skipRemaining = 0;
    this.finalPacket = false;
    this.continuation = false;
    this.scratchFilled = 0;
    this.failed = false;
    this.statementId = -1;
    this.statementParams = 0;
    this.statusFlags = 0;
    this.statusKnown = false;
    this.localInfile = false;
    this.lastPacketStart = -1;
    this.packets = 0;
    this.results = 0;
  }

  get done(): boolean {
    return this.state === S_DONE;
  }

  /**
   * Consumes chunk[start..] and returns the offset just past the response's last byte, or -1 when
   * the response continues beyond this chunk.
   */
  scan(chunk: Buffer, start: number): number {
    let offset = start;
    const end = chunk.length;
    this.lastPacketStart = -1;
    while (offset < end) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, end - offset);
        offset += n;
        this.skipRemaining -= n;
        if (this.skipRemaining > 0) return -1;
        if (this.finalPacket && !this.continuation) return this.finish(offset);
        continue;
      }
      if (this.scratchFilled === 0 && end - offset >= 4) {
        const len = chunk[offset]! | (chunk[offset + 1]! << 8) | (chunk[offset + 2]! << 16);
        const prefix = len < PREFIX_BYTES ? len : PREFIX_BYTES;
        if (end - offset - 4 >= prefix) {
          // Fast path: header and prefix are in this chunk.
          this.lastPacketStart = offset;
          this.lastSequenceId = chunk[offset + 3]!;
          this.onPacket(chunk, offset + 4, len);
          const packetEnd = offset + 4 + len;
          if (packetEnd <= end) {
            offset = packetEnd;
            if (this.finalPacket && !this.continuation) return this.finish(offset);
            continue;
          }
          this.skipRemaining = packetEnd - end;
          return -1;
        }
      }
      offset = this.gatherStraddling(chunk, offset, end);
      if (offset < 0) return -1;
      if (this.skipRemaining === 0 && this.finalPacket && !this.continuation) return this.finish(offset);
    }
    return -1;
  }

  /**
   * The slow path: a packet's header and prefix straddle chunks, so they are gathered into scratch.
   * Returns the offset past what it took from the chunk once the packet is read, -1 when the chunk
   * ended first.
   */
  private gatherStraddling(chunk: Buffer, start: number, end: number): number {
    let offset = start;
    if (this.scratchFilled === 0) this.lastPacketStart = offset;
    if (this.scratchFilled < 4) {
      const take = Math.min(4 - this.scratchFilled, end - offset);
      chunk.copy(this.scratch, this.scratchFilled, offset, offset + take);
      this.scratchFilled += take;
      offset += take;
      if (this.scratchFilled < 4) return -1;
    }
    const s = this.scratch;
    const len = s[0]! | (s[1]! << 8) | (s[2]! << 16);
    const prefix = len < PREFIX_BYTES ? len : PREFIX_BYTES;
    const have = this.scratchFilled - 4;
    if (have < prefix) {
      const take = Math.min(prefix - have, end - offset);
      chunk.copy(s, this.scratchFilled, offset, offset + take);
      this.scratchFilled += take;
      offset += take;
      if (this.scratchFilled - 4 < prefix) return -1;
    }
    this.scratchFilled = 0;
    this.lastSequenceId = s[3]!;
    this.onPacket(s, 4, len);
    this.skipRemaining = len - prefix;
    return offset;
  }

  private finish(offset: number): number {
    this.state = S_DONE;
    return offset;
  }

  /** One packet: `p` is where its payload starts in `buf`, at least min(len, PREFIX_BYTES) bytes of it present. */
  private onPacket(buf: Buffer, p: number, len: number): void {
    this.packets++;
    const wasContinuation = this.continuation;
    this.continuation = len === MAX_PACKET_PAYLOAD;
    if (wasContinuation) return; // the rest of a payload >= 16 MB, already classified
    const first = len > 0 ? buf[p]! : -1;
    if (this.state <= S_ROWS) this.onResultSetPacket(buf, p, len, first);
    else if (this.state <= S_PREPARE_COLUMNS_EOF) this.onPreparePacket(buf, p, len, first);
    else this.onListOrSinglePacket(buf, p, len, first);
  }

  /** COM_QUERY, COM_STMT_EXECUTE, COM_STMT_FETCH: OK / ERR / LOCAL INFILE / result sets. */
  private onResultSetPacket(buf: Buffer, p: number, len: number, first: number): void {
    switch (this.state) {
      case S_FIRST:
        this.onResultHeader(buf, p, len, first);
        return;
      case S_COLUMNS:
        if (--this.remaining === 0) this.state = this.deprecateEof ? S_ROWS : S_COLUMNS_EOF;
        return;
      case S_COLUMNS_EOF:
        this.statusFlags = readEofStatus(buf, p, len);
        this.statusKnown = true;
        // An open cursor: the rows come later through COM_STMT_FETCH.
        if (this.kind === ResponseKind.EXECUTE && (this.statusFlags & Status.CURSOR_EXISTS) !== 0) {
          this.finalPacket = true;
        } else {
          this.state = S_ROWS;
        }
        return;
      default: // S_ROWS
        if (first === 0xfe && len < MAX_PACKET_PAYLOAD) {
          // Terminator: EOF (5 bytes) or, with DEPRECATE_EOF, an OK packet with header 0xfe.
          this.statusFlags =
            len <= 5 || !this.deprecateEof ? readEofStatus(buf, p, len) : readOkStatus(buf, p, len);
          this.statusKnown = true;
          if (this.kind !== ResponseKind.FETCH && (this.statusFlags & Status.MORE_RESULTS_EXISTS) !== 0) {
            this.state = S_FIRST;
          } else {
            this.finalPacket = true;
          }
        } else if (first === 0xff) {
          this.failed = true;
          this.finalPacket = true;
        }
    }
  }

  /** The first packet of a result: OK, ERR, a LOCAL INFILE request, or a result set's column count. */
  private onResultHeader(buf: Buffer, p: number, len: number, first: number): void {
    this.results++;
    if (first === 0x00 || first === 0xfe) {
      this.statusFlags = readOkStatus(buf, p, len);
      this.statusKnown = true;
      if ((this.statusFlags & Status.MORE_RESULTS_EXISTS) === 0) this.finalPacket = true;
    } else if (first === 0xff) {
      this.failed = true;
      this.finalPacket = true;
    } else if (first === 0xfb) {
      this.localInfile = true;
      this.finalPacket = true;
    } else {
      this.remaining = readCount(buf, p, len);
      this.state = this.remaining > 0 ? S_COLUMNS : S_ROWS;
    }
  }

  /** COM_STMT_PREPARE: ERR, or PREPARE_OK then parameter and column definitions. */
  private onPreparePacket(buf: Buffer, p: number, len: number, first: number): void {
    switch (this.state) {
      case S_PREPARE_FIRST:
        if (first !== 0x00) {
          this.failed = first === 0xff;
          this.finalPacket = true;
          return;
        }
        this.statementId = len >= 5 ? buf.readUInt32LE(p + 1) : -1;
        this.preparedColumns = len >= 7 ? buf.readUInt16LE(p + 5) : 0;
        this.remaining = len >= 9 ? buf.readUInt16LE(p + 7) : 0;
        this.statementParams = this.remaining;
        if (this.remaining > 0) this.state = S_PARAMS;
        else this.afterParams();
        return;
      case S_PARAMS:
        if (--this.remaining === 0) {
          if (this.deprecateEof) this.afterParams();
          else this.state = S_PARAMS_EOF;
        }
        return;
      case S_PARAMS_EOF:
        this.afterParams();
        return;
      case S_PREPARE_COLUMNS:
        if (--this.remaining === 0) {
          if (this.deprecateEof) this.finalPacket = true;
          else this.state = S_PREPARE_COLUMNS_EOF;
        }
        return;
      default: // S_PREPARE_COLUMNS_EOF
        this.finalPacket = true;
    }
  }

  /** COM_FIELD_LIST's definitions up to an EOF, one-packet responses, and bytes after the end. */
  private onListOrSinglePacket(buf: Buffer, p: number, len: number, first: number): void {
    switch (this.state) {
      case S_FIELD_LIST:
        if (first === 0xff) {
          this.failed = true;
          this.finalPacket = true;
        } else if (first === 0xfe && len < MAX_PACKET_PAYLOAD) {
          this.finalPacket = true;
        }
        return;
      case S_SINGLE:
        if (first === 0xff) this.failed = true;
        else if (first === 0x00 || first === 0xfe) {
          this.statusFlags = readOkStatus(buf, p, len);
          this.statusKnown = true;
        }
        this.finalPacket = true;
        return;
      default:
        // Bytes after the response ended: the caller treats the connection as broken.
        this.finalPacket = true;
    }
  }

  private afterParams(): void {
    if (this.preparedColumns > 0) {
      this.remaining = this.preparedColumns;
      this.state = S_PREPARE_COLUMNS;
    } else {
      this.finalPacket = true;
    }
  }
}

/** Column count (a length-encoded integer) at the start of a result set header. */
function readCount(buf: Buffer, p: number, len: number): number {
  const first = buf[p]!;
  if (first < 0xfb) return first;
  if (first === 0xfc && len >= 3) return buf[p + 1]! | (buf[p + 2]! << 8);
  if (first === 0xfd && len >= 4) return buf[p + 1]! | (buf[p + 2]! << 8) | (buf[p + 3]! << 16);
  if (first === 0xfe && len >= 9) return Number(buf.readBigUInt64LE(p + 1));
  return 0;
}

/** Size of the length-encoded integer at buf[i] (1 for malformed bytes, which only bounds-checking matters for). */
function lenencAt(buf: Buffer, i: number): number {
  const b = buf[i]!;
  return b < 0xfb ? 1 : b === 0xfc ? 3 : b === 0xfd ? 4 : b === 0xfe ? 9 : 1;
}

/** Status flags of an OK packet: after the header, affected rows and last insert id. */
function readOkStatus(buf: Buffer, p: number, len: number): number {
  if (len < 3) return 0;
  let i = p + 1;
  i += lenencAt(buf, i);
  if (i - p >= len) return 0;
  i += lenencAt(buf, i);
  if (i - p + 2 > len) return 0;
  return buf[i]! | (buf[i + 1]! << 8);
}

/** Status flags of an EOF packet: 0xfe, warnings (2), status (2). */
function readEofStatus(buf: Buffer, p: number, len: number): number {
  return len >= 5 ? buf[p + 3]! | (buf[p + 4]! << 8) : 0;
}
