// What Athena does with each command byte of the command phase: which response the server sends
// (so the ResponseScanner knows where it ends), and why a command it does not forward is refused.
import { Com } from '../protocol/constants.ts';
import { ResponseKind } from '../protocol/responseScanner.ts';

/** A forwarded command the server does not answer (COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
export const NO_RESPONSE = -1;

/** Response kind per command byte; NO_RESPONSE for commands the server does not answer. */
export const RESPONSE_KIND: Record<number, number> = {
  [Com.QUERY]: ResponseKind.QUERY,
  [Com.STMT_EXECUTE]: ResponseKind.EXECUTE,
  [Com.STMT_PREPARE]: ResponseKind.PREPARE,
  [Com.FIELD_LIST]: ResponseKind.FIELD_LIST,
  [Com.STMT_FETCH]: ResponseKind.FETCH,
  [Com.INIT_DB]: ResponseKind.SINGLE,
  [Com.PING]: ResponseKind.SINGLE,
  [Com.STATISTICS]: ResponseKind.SINGLE,
  [Com.STMT_RESET]: ResponseKind.SINGLE,
  [Com.RESET_CONNECTION]: ResponseKind.SINGLE,
  [Com.SET_OPTION]: ResponseKind.SINGLE,
  [Com.REFRESH]: ResponseKind.SINGLE,
  [Com.CREATE_DB]: ResponseKind.SINGLE,
  [Com.DROP_DB]: ResponseKind.SINGLE,
  [Com.STMT_CLOSE]: NO_RESPONSE,
  [Com.STMT_SEND_LONG_DATA]: NO_RESPONSE,
};

/**
 * Why a command Athena knows but does not forward is refused. Every other command byte missing from
 * RESPONSE_KIND (replication, COM_SHUTDOWN, legacy ones) gets a generic "not supported" ERR 1047.
 */
const REFUSED_BECAUSE: Record<number, string> = {
  // The id a client knows is Athena's (from its handshake), not a backend thread id; and with one
  // backend account shared by several proxy users, one user could end another's backend connection.
  [Com.PROCESS_KILL]: 'connection ids are per proxy, not per server; KILL is not available through Athena',
  // Dumps server internals to the server's error log: an administrator's command, not an application's.
  [Com.DEBUG]: 'an administration command, run it on the server directly',
  [Com.SHUTDOWN]: 'an administration command, run it on the server directly',
};

/** "COM_QUERY" for 0x03: names in ERR messages and logs. */
const COMMAND_NAMES = new Map<number, string>(
  Object.entries(Com).map(([name, byte]) => [byte, `COM_${name}`]),
);

/** The ERR message for a command byte Athena does not forward. */
export function refusedCommandMessage(command: number): string {
  const name = COMMAND_NAMES.get(command) ?? `command 0x${command.toString(16).padStart(2, '0')}`;
  const why = REFUSED_BECAUSE[command] ?? 'not supported';
  return `Unknown command: ${name} is refused by Athena (${why})`;
}
