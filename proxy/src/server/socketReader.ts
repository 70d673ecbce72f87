// Reading a socket without the Readable stream: net's `onread` fills one reusable buffer, and the
// consumer gets a view of the bytes read. Per read this skips the stream's push/emit machinery and
// the 64 KiB ArrayBuffer Node allocates (and the garbage collector later frees) for every chunk; a
// read as long as the one before it (every point select and its answer) allocates nothing at all.
import net from 'node:net';

/**
 * Consumes the bytes of one read. `chunk` is a view of the reader's buffer, which the next read
 * overwrites: return true when something may still reference it (a queued packet, a write that did
 * not complete synchronously), so the next read goes into a fresh buffer.
 */
export type ChunkConsumer = (chunk: Buffer) => boolean;

export class SocketReader {
  private buffer: Buffer;
  /** The last view handed out: a read of the same length (the common case) gets it again. */
  private view: Buffer;
  onChunk: ChunkConsumer = () => false;

  /** `bufferBytes`: the most one read returns (a larger packet just takes more reads). */
  constructor(private readonly bufferBytes: number) {
    this.buffer = Buffer.allocUnsafeSlow(bufferBytes);
    this.view = this.buffer.subarray(0, 0);
  }

  readonly onread = {
    buffer: (): Buffer => this.buffer,
    callback: (bytes: number): boolean => {
      if (this.view.length !== bytes) this.view = this.buffer.subarray(0, bytes);
      if (this.onChunk(this.view)) {
        this.buffer = Buffer.allocUnsafeSlow(this.bufferBytes);
        this.view = this.buffer.subarray(0, 0);
      }
      return true; // false would stop reading
    },
  };
}

/** The parts of Node's TCP handle that net.Socket needs to read into a user buffer. */
interface UserBufferHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
}

function isUserBufferHandle(handle: unknown): handle is UserBufferHandle {
  const h = handle as Partial<UserBufferHandle> | null | undefined;
  return (
    typeof h?.readStart === 'function' &&
    typeof h.readStop === 'function' &&
    typeof h.useUserBuffer === 'function'
  );
}

/**
 * A socket accepted by a net.Server created with `pauseOnConnect: true`, re-wrapped so it reads
 * through `reader` (net.Server offers no `onread` option of its own). It takes over the accepted
 * socket's handle — `_handle`, not public API, hence the feature check — and the accepted socket
 * is destroyed without it, which also stops the server counting it. Returns null, leaving the
 * accepted socket untouched, when the handle is not what this expects (another Node version):
 * the caller then reads through the stream.
 */
export function adoptWithReader(accepted: net.Socket, reader: SocketReader): net.Socket | null {
  const holder = accepted as unknown as { _handle: unknown };
  const handle = holder._handle;
  if (!isUserBufferHandle(handle) || accepted.destroyed) return null;
  holder._handle = null;
  accepted.destroy();
  const options = { handle, onread: reader.onread, readable: true, writable: true };
  return new net.Socket(options as net.SocketConstructorOpts);
}
