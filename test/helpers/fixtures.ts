// For the parsers' unit tests: the verbatim tool outputs of test/fixtures/, and the one kind of
// error a parser throws on output it does not understand.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfrastructureError } from '../../src/util/errors.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** Reads test/fixtures/<tool>/<name>. */
export function fixtureOf(tool: 'sysbench' | 'mysqlslap' | 'callgrind'): (name: string) => string {
  return (name) => readFileSync(path.join(FIXTURES, tool, name), 'utf8');
}

/** fn throws an InfrastructureError whose message matches pattern. */
export function assertInfraError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InfrastructureError, `expected an InfrastructureError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}
