import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framePacket } from '../protocol/packets.ts';
import { newParamsBound } from '../protocol/stmtExecute.ts';
import { PreparedStatements } from './preparedStatements.ts';

const LONGLONG = [0x08, 0x00];

/** A COM_STMT_EXECUTE of statement `id` with one BIGINT parameter, with or without its type. */
function execute(id: number, value: number, sendTypes: boolean): Buffer {
  const head = Buffer.alloc(10);
  head[0] = 0x17;
  head.writeUInt32LE(id >>> 0, 1);
  head.writeUInt32LE(1, 6);
  const bound = sendTypes ? Buffer.from([0x00, 0x01, ...LONGLONG]) : Buffer.from([0x00, 0x00]);
  const param = Buffer.alloc(8);
  param.writeBigInt64LE(BigInt(value));
  return framePacket(Buffer.concat([head, bound, param]), 0);
}

function stmtClose(id: number): Buffer {
  const payload = Buffer.alloc(5);
  payload[0] = 0x19;
  payload.writeUInt32LE(id, 1);
  return framePacket(payload, 0);
}

function counter(): { count: number; bump: () => void } {
  const c = { count: 0, bump: () => void c.count++ };
  return c;
}

test('executes that reach the server go out unchanged, without a copy', () => {
  const statements = new PreparedStatements();
  statements.prepared(1, 'select', 1);
  const resent = counter();
  const typed = execute(1, 41, true);
  assert.equal(statements.toSend(typed, resent.bump), typed);
  const untyped = execute(1, 42, false);
  assert.equal(statements.toSend(untyped, resent.bump), untyped);
  assert.equal(resent.count, 0);
  assert.equal(statements.typeOf(untyped), 'select');
});

test('the types of a refused execute go out with the next execute that has none, once', () => {
  const statements = new PreparedStatements();
  statements.prepared(3, 'update', 1);
  const resent = counter();
  statements.refused(execute(3, 41, true));
  const untyped = execute(3, 42, false);
  const sent = statements.toSend(untyped, resent.bump);
  assert.deepEqual(sent, execute(3, 42, true), 'the flag set and the types spliced in, values unchanged');
  assert.equal(resent.count, 1);
  // The server has the types now: the next execute goes out as the client sent it.
  const next = execute(3, 43, false);
  assert.equal(statements.toSend(next, resent.bump), next);
  assert.equal(resent.count, 1);
});

test('refused executes without types change nothing; new types from the client win', () => {
  const statements = new PreparedStatements();
  statements.prepared(4, 'select', 1);
  const resent = counter();
  statements.refused(execute(4, 1, false));
  const untyped = execute(4, 2, false);
  assert.equal(statements.toSend(untyped, resent.bump), untyped);
  statements.refused(execute(4, 3, true));
  const typed = execute(4, 4, true); // the client bound again: it sends the types itself
  assert.equal(statements.toSend(typed, resent.bump), typed);
  const after = execute(4, 5, false);
  assert.equal(statements.toSend(after, resent.bump), after);
  assert.equal(resent.count, 0);
});

test('the refused types survive the reuse of the buffer the refused packet was read into', () => {
  const statements = new PreparedStatements();
  statements.prepared(5, 'select', 1);
  const readBuffer = execute(5, 41, true);
  statements.refused(readBuffer);
  readBuffer.fill(0);
  const sent = statements.toSend(execute(5, 42, false), () => undefined);
  assert.deepEqual(sent, execute(5, 42, true));
});

test('statement id 0xffffffff means the statement prepared last', () => {
  const statements = new PreparedStatements();
  statements.prepared(8, 'delete', 1);
  statements.refused(execute(0xffffffff, 1, true));
  assert.equal(statements.typeOf(execute(0xffffffff, 1, false)), 'delete');
  const sent = statements.toSend(execute(8, 2, false), () => undefined);
  assert.equal(newParamsBound(sent, 1), 1);
});

test('closed and cleared statements are forgotten: their executes go out as sent', () => {
  const statements = new PreparedStatements();
  statements.prepared(6, 'select', 1);
  statements.prepared(7, 'insert', 1);
  statements.refused(execute(6, 1, true));
  statements.refused(execute(7, 1, true));
  statements.closed(stmtClose(6));
  const six = execute(6, 2, false);
  assert.equal(
    statements.toSend(six, () => undefined),
    six,
  );
  assert.equal(statements.typeOf(six), 'other');
  statements.clear();
  const seven = execute(7, 2, false);
  assert.equal(
    statements.toSend(seven, () => undefined),
    seven,
  );
  // Truncated packets are not statements.
  assert.equal(statements.typeOf(Buffer.from([1, 0, 0, 0, 0x17])), 'other');
  statements.closed(Buffer.from([1, 0, 0, 0, 0x19]));
});
