// What a session knows about its prepared statements: the type its EXECUTEs are labelled with,
// the number of parameters, and whether the server has the parameter types the client believes it
// sent. A client sends the types once (new-params-bound = 1) and then executes with the flag at 0;
// when Athena refuses the execute that carried them (circuit, rate limit), the server never saw
// them, so Athena splices them into the client's next execute instead of letting it fail with 1210.
import {
  copyParamTypes,
  LAST_PREPARED_STATEMENT,
  newParamsBound,
  withParamTypes,
} from '../protocol/stmtExecute.ts';
import type { StatementType } from '../statementType.ts';

interface PreparedStatement {
  readonly type: StatementType;
  readonly params: number;
  /** Types from an execute the client sent and the server never received; null when the server has the client's. */
  unsentTypes: Buffer | null;
}

/** Byte offset of the statement id in a COM_STMT_EXECUTE / CLOSE / RESET packet (header included). */
const STATEMENT_ID_AT = 5;

export class PreparedStatements {
  private readonly byId = new Map<number, PreparedStatement>();
  private lastPrepared = -1;

  /** The server answered a COM_STMT_PREPARE with PREPARE_OK. */
  prepared(id: number, type: StatementType, params: number): void {
    this.byId.set(id, { type, params, unsentTypes: null });
    this.lastPrepared = id;
  }

  /** A COM_STMT_CLOSE packet went (or would have gone) to the server. */
  closed(packet: Buffer): void {
    if (packet.length >= STATEMENT_ID_AT + 4) this.byId.delete(this.idIn(packet));
  }

  /** The server's statements are gone (COM_RESET_CONNECTION, COM_CHANGE_USER). */
  clear(): void {
    this.byId.clear();
    this.lastPrepared = -1;
  }

  /** The statement type an execute packet runs ('other' for an unknown statement). */
  typeOf(packet: Buffer): StatementType {
    return this.statementIn(packet)?.type ?? 'other';
  }

  /** An execute packet was refused before it reached the server: keeps the types it carried. */
  refused(packet: Buffer): void {
    const statement = this.statementIn(packet);
    if (statement === undefined) return;
    const types = copyParamTypes(packet, statement.params);
    if (types !== null) statement.unsentTypes = types;
  }

  /**
   * An execute packet is about to go to the server. Returns what to send: the packet itself, or,
   * when it has no types and the server never got the client's last ones, a copy with them spliced
   * in. `onResent` is called when it does that.
   */
  toSend(packet: Buffer, onResent: () => void): Buffer {
    const statement = this.statementIn(packet);
    if (statement === undefined) return packet;
    const bound = newParamsBound(packet, statement.params);
    if (bound === 1) statement.unsentTypes = null;
    if (bound !== 0 || statement.unsentTypes === null) return packet;
    const rewritten = withParamTypes(packet, statement.params, statement.unsentTypes);
    statement.unsentTypes = null;
    onResent();
    return rewritten;
  }

  private idIn(packet: Buffer): number {
    const id = packet.readUInt32LE(STATEMENT_ID_AT);
    return id === LAST_PREPARED_STATEMENT ? this.lastPrepared : id;
  }

  private statementIn(packet: Buffer): PreparedStatement | undefined {
    return packet.length >= STATEMENT_ID_AT + 4 ? this.byId.get(this.idIn(packet)) : undefined;
  }
}
