// Splits a byte stream into whole MySQL packets (4-byte header + payload). Packets contained in
// one chunk are handed out as subarray views of that chunk (no copy); a packet split across chunks
// is assembled once into a buffer of its exact size (never re-concatenated per chunk).

export type PacketHandler = (packet: Buffer) => void;

export class PacketFramer {
  /** The partially received packet: its header bytes, then its whole buffer once the size is known. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private readonly header = Buffer.alloc(4);
  private headerFilled = 0;

  constructor(private readonly onPacket: PacketHandler) {}

  /** True when some bytes of an unfinished packet are buffered. */
  get hasPartial(): boolean {
    return this.headerFilled > 0 || this.partial !== null;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    const end = chunk.length;
    if (this.headerFilled > 0 || this.partial !== null) {
      offset = this.continuePartial(chunk);
      if (offset < 0) return;
    }
    while (end - offset >= 4) {
      const len = chunk[offset]! | (chunk[offset + 1]! << 8) | (chunk[offset + 2]! << 16);
      const packetEnd = offset + 4 + len;
      if (packetEnd > end) {
        this.partial = Buffer.allocUnsafe(4 + len);
        chunk.copy(this.partial, 0, offset, end);
        this.partialFilled = end - offset;
        return;
      }
      // A chunk that is exactly one packet (most commands) is handed out as is: no view to create.
      this.onPacket(offset === 0 && packetEnd === end ? chunk : chunk.subarray(offset, packetEnd));
      offset = packetEnd;
    }
    if (offset < end) {
      chunk.copy(this.header, 0, offset, end);
      this.headerFilled = end - offset;
    }
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
      this.partial = Buffer.allocUnsafe(4 + len);
      this.header.copy(this.partial, 0);
      this.partialFilled = 4;
      this.headerFilled = 0;
    }
    const partial = this.partial;
    const take = Math.min(partial.length - this.partialFilled, chunk.length - offset);
    chunk.copy(partial, this.partialFilled, offset, offset + take);
    this.partialFilled += take;
    offset += take;
    if (this.partialFilled < partial.length) return -1;
    this.partial = null;
    this.partialFilled = 0;
    this.onPacket(partial);
    return offset;
  }
}
