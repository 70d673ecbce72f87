// Which way the backend password may travel under which configuration, and what start-up warns of.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { ShardConfig } from '../config.ts';
import { parseConfig } from '../config.ts';
import {
  backendCredentialPolicy,
  backendCredentialWarnings,
  certificateCheck,
  fullAuthStep,
  tlsFailureHint,
  type BackendTls,
} from './backendCredentials.ts';

const { publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** A shard as the config loader gives it, for one [backend] table's extra keys. */
function shardWith(keys: string): ShardConfig {
  const text = `[backend]\nhost = "db.internal"\nuser = "app"\npassword = "pw"\n${keys}\n[[users]]\nname = "u"\npassword = "p"\n`;
  return parseConfig(text).shards[0]!;
}

/** Reads nothing: the files a test names are these contents. */
function filesOf(contents: Record<string, string>): (file: string, key: string) => Buffer {
  return (file, key) => {
    const text = contents[file];
    if (text === undefined) throw new Error(`${key}: cannot read ${file} (ENOENT)`);
    return Buffer.from(text);
  };
}

test('certificateCheck: preferred never verifies, required verifies the chain unless told not to', () => {
  assert.equal(certificateCheck('preferred'), 'none');
  assert.equal(certificateCheck('required'), 'chain');
  assert.equal(certificateCheck('required', false), 'none');
  assert.equal(certificateCheck('verify_ca'), 'chain');
  assert.equal(certificateCheck('verify_identity'), 'identity');
});

test('the policy a shard config gives: TLS check and CA, pinned key, key retrieval', () => {
  const read = filesOf({ '/ca.pem': 'CA', '/rsa.pem': publicKey });
  assert.deepEqual(backendCredentialPolicy(shardWith(''), 'backend', read), { label: 'shard "default"' });
  assert.deepEqual(backendCredentialPolicy(shardWith('ssl_mode = "required"'), 'backend', read).ssl, {
    mode: 'required',
    check: 'chain',
    ca: null,
  });
  const verified = backendCredentialPolicy(
    shardWith('ssl_mode = "verify_identity"\nssl_ca = "/ca.pem"'),
    'backend',
    read,
  );
  assert.deepEqual(verified.ssl, { mode: 'verify_identity', check: 'identity', ca: Buffer.from('CA') });
  const unverified = backendCredentialPolicy(
    shardWith('ssl_mode = "required"\nssl_verify_server_cert = false'),
    'backend',
    read,
  );
  assert.equal(unverified.ssl?.check, 'none');
  const pinned = backendCredentialPolicy(shardWith('rsa_public_key_file = "/rsa.pem"'), 'backend', read);
  assert.equal(pinned.rsaPublicKey?.asymmetricKeyType, 'rsa');
  assert.equal(pinned.fetchPublicKey, undefined);
  const fetching = backendCredentialPolicy(shardWith('get_server_public_key = true'), 'backend', read);
  assert.equal(fetching.fetchPublicKey, true);
  assert.equal(
    backendCredentialPolicy(shardWith('get_server_public_key = false'), 'backend', read).fetchPublicKey,
    undefined,
  );
});

test('a pinned key file that is missing or not an RSA public key stops the start, naming the key', () => {
  const { publicKey: ecKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const read = filesOf({ '/junk.pem': 'not a key', '/ec.pem': ecKey });
  const policyFor = (file: string) =>
    backendCredentialPolicy(shardWith(`rsa_public_key_file = "${file}"`), 'shards[0]', read);
  assert.throws(() => policyFor('/missing.pem'), /^Error: shards\[0\]\.rsa_public_key_file: cannot read/);
  assert.throws(
    () => policyFor('/junk.pem'),
    /shards\[0\]\.rsa_public_key_file: \/junk\.pem is not a PEM public key/,
  );
  assert.throws(() => policyFor('/ec.pem'), /\/ec\.pem is not an RSA public key \(its type is ec\)/);
});

test('full authentication: which step each configuration allows', () => {
  const read = filesOf({ '/rsa.pem': publicKey });
  const policy = (keys: string) => backendCredentialPolicy(shardWith(keys), 'backend', read);
  const step = (keys: string, tlsActive: boolean) =>
    fullAuthStep(policy(keys), tlsActive, 'db.internal:3306').kind;
  // Over TLS the password goes as it is, whatever else is set (the TLS settings decide who sees it).
  for (const keys of ['ssl_mode = "verify_identity"', 'ssl_mode = "required"', 'ssl_mode = "preferred"'])
    assert.equal(step(keys, true), 'password_over_tls', keys);
  // On plain TCP: the pinned key, or the server's only when asked for, else refused.
  assert.equal(step('rsa_public_key_file = "/rsa.pem"', false), 'encrypt_with_pinned_key');
  assert.equal(step('get_server_public_key = true', false), 'request_server_key');
  assert.equal(step('', false), 'refuse');
  assert.equal(step('get_server_public_key = false', false), 'refuse');
  // preferred with a server that offers no TLS (or an attacker who strips it) is plain TCP.
  assert.equal(step('ssl_mode = "preferred"', false), 'refuse');
  assert.equal(step('ssl_mode = "preferred"\nget_server_public_key = true', false), 'request_server_key');
});

test('the refusal names the backend, its shard and every key that would allow the login', () => {
  const refused = fullAuthStep({ label: 'shard "eu"' }, false, 'db.internal:3306');
  assert.equal(refused.kind, 'refuse');
  if (refused.kind !== 'refuse') return;
  assert.match(
    refused.reason,
    /^backend db\.internal:3306 \(shard "eu"\) asked for caching_sha2_password full authentication/,
  );
  for (const key of ['ssl_mode = "verify_identity"', 'rsa_public_key_file', 'get_server_public_key = true'])
    assert.ok(refused.reason.includes(key), `names ${key}`);
});

test('a TLS failure says what to change: the CA, the host name, or (required only) the opt-out', () => {
  const tls = (
    mode: BackendTls['mode'],
    check: BackendTls['check'],
    ca: Buffer | null = null,
  ): BackendTls => ({
    mode,
    check,
    ca,
  });
  const required = tlsFailureHint(tls('required', 'chain'), 'db', 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.match(required, /not signed by a CA in the system CAs \(ssl_ca is not set\): set ssl_ca/);
  assert.match(required, /ssl_verify_server_cert = false/);
  const verifyCa = tlsFailureHint(
    tls('verify_ca', 'chain', Buffer.from('x')),
    'db',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  );
  assert.match(verifyCa, /not signed by a CA in ssl_ca: set ssl_ca to the CA that signed it$/);
  assert.match(
    tlsFailureHint(tls('verify_identity', 'identity'), 'db', 'ERR_TLS_CERT_ALTNAME_INVALID'),
    /does not name host "db".*ssl_mode = "verify_ca"/,
  );
  assert.equal(tlsFailureHint(tls('verify_ca', 'chain'), 'db', 'ECONNRESET'), '');
  assert.equal(tlsFailureHint(tls('preferred', 'none'), 'db', undefined), '');
});

test('start-up warnings: only for settings an attacker on the path can read the password through', () => {
  const warningsFor = (keys: string) => backendCredentialWarnings([shardWith(keys)]);
  // Safe: no TLS and nothing that would send the password (full auth is refused); verified TLS; a pinned key.
  for (const keys of [
    '',
    'ssl_mode = "required"',
    'ssl_mode = "verify_ca"\nget_server_public_key = true',
    'ssl_mode = "verify_identity"',
    'rsa_public_key_file = "/rsa.pem"',
  ])
    assert.deepEqual(warningsFor(keys), [], keys);
  const [preferred] = warningsFor('ssl_mode = "preferred"');
  assert.match(preferred!, /^shard "default" \(db\.internal:3306\): ssl_mode = "preferred" never verifies/);
  const [unverified] = warningsFor('ssl_mode = "required"\nssl_verify_server_cert = false');
  assert.match(unverified!, /ssl_verify_server_cert = false accepts any certificate/);
  const [fetched] = warningsFor('get_server_public_key = true');
  assert.match(fetched!, /get_server_public_key = true takes the RSA key .* over plain TCP, unverified/);
  assert.equal(warningsFor('ssl_mode = "preferred"\nget_server_public_key = true').length, 2);
});
