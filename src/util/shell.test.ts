import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shellQuote } from './shell.ts';

test('shellQuote', () => {
  assert.equal(shellQuote('/tmp/a.toml'), '/tmp/a.toml');
  assert.equal(shellQuote("/tmp/it's here"), `'/tmp/it'\\''s here'`);
});
