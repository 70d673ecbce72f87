// Splits a byte stream into whole MySQL packets (4-byte header + payload). Packets contained in
// one chunk are handed out as subarray views of that chunk (no copy); a packet split across chunks
// is gathered into one buffer that grows with the bytes that arrive (never sized from the header
// alone: a stranger declaring 16 MB and sending 10 bytes costs 10 bytes, not 16 MB).
import { MAX_PACKET_PAYLOAD } from './constants.ts';

export type PacketHandler = (packet: Buffer) => void;
/** A header declared a payload above maxPayload: the framer has stopped. */
export type OversizeHandler = (declaredPayload: number, sequenceId: number) => void;
/**
 * Asked before a split packet's buffer is allocated or grown, with the bytes that adds and the
 * packet's sequence id: false refuses them, and the framer stops (the caller answers the client).
 */
export type GatherReservation = (bytes: number, sequenceId: number) => boolean;

/** First size of the buffer a split packet is gathered in (it doubles as bytes arrive). */
const INITIAL_PARTIAL_BYTES = 16 * 1024;

export class PacketFramer {
  /** Largest payload a packet may declare; a larger header stops the framer and calls onOversize. */
  maxPayload = MAX_PACKET_PAYLOAD;
  /** Consulted for every buffer a split packet needs (null: no accounting). */
  reserve: GatherReservation | null = null;
  /** The partially received packet's bytes so far (header included), once its header is complete. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** The partial packet's whole size, header included. */
  private partialSize = 0;
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;
  private stopped = false;
  /** Set by detach(): receives the bytes of the chunk that followed the packet being handled. */
  private onDetached: ((rest: Buffer) => void) | null = null;

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly onOversize: OversizeHandler = () => undefined,
  ) {}

  /** True when some bytes of an unfinished packet are buffered. */
  get hasPartial(): boolean {
    return this.headerFilled > 0 || this.partial !== null;
  }

  /** Bytes allocated for the unfinished packet (what a slow or hostile sender costs right now). */
  get bufferedBytes(): number {
    return this.partial === null ? 0 : this.partial.length;
  }

  push(chunk: Buffer): void {
    if (this.stopped) return;
    let offset = 0;
    const end = chunk.length;
    if (this.headerFilled > 0 || this.partial !== null) {
      offset = this.continuePartial(chunk);
      if (offset < 0) return;
    }
    while (end - offset >= 4) {
      const len = chunk[offset]! | (chunk[offset + 1]! << 8) | (chunk[offset + 2]! << 16);
      if (len > this.maxPayload) {
        this.stop(len, chunk[offset + 3]!);
        return;
      }
      const packetEnd = offset + 4 + len;
      if (packetEnd > end) {
        if (!this.startPartial(4 + len, end - offset, chunk[offset + 3]!)) return;
        chunk.copy(this.partial!, 0, offset, end);
        this.partialFilled = end - offset;
        return;
      }
      // A chunk that is exactly one packet (most commands) is handed out as is: no view to create.
      this.onPacket(offset === 0 && packetEnd === end ? chunk : chunk.subarray(offset, packetEnd));
      if (this.stopped) {
        this.handOver(chunk.subarray(packetEnd));
        return;
      }
      offset = packetEnd;
    }
    if (offset < end) {
      chunk.copy(this.header, 0, offset, end);
      this.headerFilled = end - offset;
    }
  }

  /**
   * Called from onPacket: the stream's next bytes are not packets (a TLS handshake follows an
   * SSLRequest). The framer stops and, once onPacket has returned, hands what followed the packet
   * in the same chunk to `onRest` (maybe nothing).
   */
  detach(onRest: (rest: Buffer) => void): void {
    this.stopped = true;
    this.onDetached = onRest;
  }

  private handOver(rest: Buffer): void {
    const onRest = this.onDetached;
    this.onDetached = null;
    onRest?.(rest);
  }

  private stop(declaredPayload: number, sequenceId: number): void {
    this.stopped = true;
    this.partial = null;
    this.headerFilled = 0;
    this.onOversize(declaredPayload, sequenceId);
  }

  /** Allocates the buffer of a split packet of `size` bytes; false when the reservation refused it. */
  private startPartial(size: number, available: number, sequenceId: number): boolean {
    const bytes = Math.min(size, Math.max(available, INITIAL_PARTIAL_BYTES));
    if (!this.reserved(bytes, sequenceId)) return false;
    this.partialSize = size;
    this.partial = Buffer.allocUnsafe(bytes);
    return true;
  }

  private reserved(bytes: number, sequenceId: number): boolean {
    if (this.reserve === null || this.reserve(bytes, sequenceId)) return true;
    this.stopped = true;
    this.partial = null;
    this.headerFilled = 0;
    return false;
  }

  /** Feeds the start of `chunk` into the unfinished packet; returns where whole packets resume, or -1. */
  private continuePartial(chunk: Buffer): number {
    let offset = 0;
    if (this.partial === null) {
      const take = Math.min(4 - this.headerFilled, chunk.length);
      chunk.copy(this.header, this.headerFilled, 0, take);
      this.headerFilled += take;
      offset = take;
      if (this.headerFilled < 4) return -1;
      const len = this.header[0]! | (this.header[1]! << 8) | (this.header[2]! << 16);
      this.headerFilled = 0;
      if (len > this.maxPayload) {
        this.stop(len, this.header[3]!);
        return -1;
      }
      if (!this.startPartial(4 + len, 4 + chunk.length - offset, this.header[3]!)) return -1;
      this.header.copy(this.partial!, 0);
      this.partialFilled = 4;
    }
    const take = Math.min(this.partialSize - this.partialFilled, chunk.length - offset);
    if (!this.ensureCapacity(this.partialFilled + take)) return -1;
    const partial = this.partial!;
    chunk.copy(partial, this.partialFilled, offset, offset + take);
    this.partialFilled += take;
    offset += take;
    if (this.partialFilled < this.partialSize) return -1;
    this.partial = null;
    this.partialFilled = 0;
    this.onPacket(partial);
    if (!this.stopped) return offset;
    this.handOver(chunk.subarray(offset));
    return -1;
  }

  /**
   * Grows the partial buffer (doubling, capped at the packet's size) to hold `needed` bytes; false
   * when the reservation refused the growth.
   */
  private ensureCapacity(needed: number): boolean {
    const current = this.partial!;
    if (needed <= current.length) return true;
    const size = Math.min(this.partialSize, Math.max(current.length * 2, needed));
    if (!this.reserved(size - current.length, current[3]!)) return false;
    const grown = Buffer.allocUnsafe(size);
    current.copy(grown, 0, 0, this.partialFilled);
    this.partial = grown;
    return true;
  }
}
