// COM_STMT_EXECUTE's parameter block: where the new-params-bound flag and the parameter types sit,
// and how to put the types back into an execute the client sent without them.
//
// Payload: 0x17, statement id (4), flags (1), iteration count (4); then, when the statement has
// parameters, the NULL bitmap ((n + 7) / 8 bytes), the new-params-bound flag (1), the types (2
// bytes each) when that flag is 1, and the values. The server keeps the types of the last execute
// that carried them, and clients send them only when they bound new ones, so an execute with the
// flag set that never reached the server must have its types re-sent with the next one. Athena
// offers neither CLIENT_QUERY_ATTRIBUTES nor MariaDB's bulk operations, so no parameter count or
// extended types precede or follow these fields.
import { MAX_PACKET_PAYLOAD } from './constants.ts';
import { framePacket } from './packets.ts';

/** The statement id MariaDB reads as "the statement this connection prepared last". */
export const LAST_PREPARED_STATEMENT = 0xffffffff;

/** Bytes of the payload before the NULL bitmap: command, statement id, flags, iteration count. */
const FIXED_PART = 10;

/** Offset of the new-params-bound flag in an execute packet (its 4-byte header included). */
function flagOffset(params: number): number {
  return 4 + FIXED_PART + ((params + 7) >> 3);
}

/** The execute packet's new-params-bound flag (0 or 1); -1 without parameters or when too short to hold it. */
export function newParamsBound(packet: Buffer, params: number): number {
  const at = flagOffset(params);
  if (params === 0 || packet.length <= at) return -1;
  return packet[at] === 0 ? 0 : 1;
}

/**
 * The parameter types an execute packet carries, copied (the packet may sit in a read buffer that
 * is reused); null when its flag is 0 or it is too short to hold them.
 */
export function copyParamTypes(packet: Buffer, params: number): Buffer | null {
  if (newParamsBound(packet, params) !== 1) return null;
  const start = flagOffset(params) + 1;
  const end = start + 2 * params;
  if (packet.length < end) return null;
  return Buffer.from(packet.subarray(start, end));
}

/**
 * The same execute with its flag set to 1 and `types` inserted after it, framed anew from sequence
 * id 0 (a command of 16 MB or more spans several packets). Call only when newParamsBound() is 0.
 */
export function withParamTypes(command: Buffer, params: number, types: Buffer): Buffer {
  const payload = commandPayload(command);
  const flag = flagOffset(params) - 4;
  const rewritten = Buffer.allocUnsafe(payload.length + types.length);
  payload.copy(rewritten, 0, 0, flag);
  rewritten[flag] = 1;
  types.copy(rewritten, flag + 1);
  payload.copy(rewritten, flag + 1 + types.length, flag + 1);
  return framePacket(rewritten, 0);
}

/** A command's payload: its one packet's (a view), or its packets' joined without their headers. */
function commandPayload(command: Buffer): Buffer {
  const first = command.readUIntLE(0, 3);
  if (first < MAX_PACKET_PAYLOAD) return command.subarray(4, 4 + first);
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const length = command.readUIntLE(at, 3);
    parts.push(command.subarray(at + 4, at + 4 + length));
    at += 4 + length;
    if (length < MAX_PACKET_PAYLOAD || at >= command.length) break;
  }
  return Buffer.concat(parts);
}
