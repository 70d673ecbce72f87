// The backend side of the connection phase, driven packet by packet with the sequences a MySQL 8.0
// server sends for caching_sha2_password (MariaDB 10.11 does not implement the plugin, and MySQL 8
// is not installed here). The greeting has the fields of an 8.0.42 server's: capabilities
// 0xdfffffff, utf8mb4_0900_ai_ci (255), status AUTOCOMMIT. What Athena answers is checked against
// the protocol with node:crypto directly, not with the functions under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { Cap } from '../protocol/constants.ts';
import { buildServerHandshake } from '../protocol/handshake.ts';
import { framePacket, ProtocolError } from '../protocol/packets.ts';
import { rsaPublicKey } from '../protocol/auth.ts';
import { BackendAuthenticator, BackendError, makeProfile, type BackendTarget } from './backendConnection.ts';

const PASSWORD = 'sha2-secret';
const SCRAMBLE = Buffer.from('Fq7#xL2@pR9!mZ4$kT1w', 'latin1');
const MYSQL_80_CAPABILITIES = 0xdfffffff;
const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

function greeting(plugin = 'caching_sha2_password', capabilities = MYSQL_80_CAPABILITIES): Buffer {
  const payload = buildServerHandshake({
    serverVersion: '8.0.42',
    connectionId: 51,
    scramble: SCRAMBLE,
    capabilities,
    collation: 255,
    statusFlags: 0x0002,
    authPlugin: plugin,
  });
  return framePacket(payload, 0);
}

const FAST_AUTH_OK = Buffer.from([0x01, 0x03]);
const PERFORM_FULL_AUTH = Buffer.from([0x01, 0x04]);
const OK = Buffer.from([0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);

function authenticator(policy: Partial<BackendTarget> = {}): BackendAuthenticator {
  const target: BackendTarget = {
    host: 'db.internal',
    port: 3306,
    user: 'app',
    password: PASSWORD,
    ...policy,
  };
  return new BackendAuthenticator(target, makeProfile(Cap.DEPRECATE_EOF, 45), null);
}

/** The payload and sequence id of a packet Athena sends. */
function sent(packet: Buffer | null): { seq: number; payload: Buffer } {
  assert.ok(packet !== null, 'Athena answers');
  return { seq: packet[3]!, payload: packet.subarray(4) };
}

/** What an RSA-encrypted full-auth answer holds: (password + NUL) XOR scramble, decrypted here. */
function decryptedPassword(payload: Buffer): string {
  const plain = privateDecrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    payload,
  );
  return Buffer.from(plain.map((b, i) => b ^ SCRAMBLE[i % 20]!)).toString('utf8');
}

function sha2FastToken(): Buffer {
  const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
  const h1 = sha256(Buffer.from(PASSWORD));
  const h3 = sha256(sha256(h1), SCRAMBLE);
  return Buffer.from(h1.map((b, i) => b ^ h3[i]!));
}

test('fast auth (the server has the account cached) needs no key and no TLS under the default policy', () => {
  const auth = authenticator();
  const response = sent(auth.onPacket(greeting()));
  assert.equal(response.seq, 1);
  assert.equal(auth.tls, false);
  assert.ok(response.payload.includes(sha2FastToken()), 'the scrambled token, never the password');
  assert.ok(!response.payload.includes(Buffer.from(PASSWORD)));
  assert.equal(auth.onPacket(framePacket(FAST_AUTH_OK, 2)), null);
  assert.equal(auth.onPacket(framePacket(OK, 3)), null);
  assert.equal(auth.done, true);
});

test('full auth on plain TCP with neither a pinned key nor get_server_public_key: ERR 2061, nothing sent', () => {
  const auth = authenticator({ label: 'shard "default"' });
  auth.onPacket(greeting());
  assert.throws(
    () => auth.onPacket(framePacket(PERFORM_FULL_AUTH, 2)),
    (error: unknown) =>
      error instanceof BackendError &&
      error.errno === 2061 &&
      error.sqlState === 'HY000' &&
      /db\.internal:3306 \(shard "default"\).*rsa_public_key_file.*get_server_public_key = true/.test(
        error.message,
      ),
  );
});

test('full auth with a pinned key: the password encrypted with it at once, no key request', () => {
  const auth = authenticator({ rsaPublicKey: rsaPublicKey(publicKey) });
  auth.onPacket(greeting());
  const answer = sent(auth.onPacket(framePacket(PERFORM_FULL_AUTH, 2)));
  assert.equal(answer.seq, 3);
  assert.equal(answer.payload.length, 256, 'one RSA-2048 block');
  assert.equal(decryptedPassword(answer.payload), `${PASSWORD}\0`);
});

test('full auth with get_server_public_key: asks (0x02), encrypts with the key the server sends', () => {
  const auth = authenticator({ fetchPublicKey: true });
  auth.onPacket(greeting());
  const request = sent(auth.onPacket(framePacket(PERFORM_FULL_AUTH, 2)));
  assert.deepEqual(request, { seq: 3, payload: Buffer.from([0x02]) });
  const keyPacket = framePacket(Buffer.concat([Buffer.from([0x01]), Buffer.from(publicKey)]), 4);
  const answer = sent(auth.onPacket(keyPacket));
  assert.equal(answer.seq, 5);
  assert.equal(decryptedPassword(answer.payload), `${PASSWORD}\0`);
});

test('a public-key response that is not an RSA key is a protocol error, not a crash', () => {
  const auth = authenticator({ fetchPublicKey: true });
  auth.onPacket(greeting());
  auth.onPacket(framePacket(PERFORM_FULL_AUTH, 2));
  assert.throws(
    () => auth.onPacket(framePacket(Buffer.from('\x01-----BEGIN PUBLIC KEY-----\ngarbage\n'), 4)),
    (error: unknown) => error instanceof ProtocolError && /unusable RSA public key/.test(error.message),
  );
});

test('full auth over TLS: SSLRequest first, then the password itself over the TLS connection', () => {
  const auth = authenticator({ ssl: { mode: 'verify_identity', check: 'identity', ca: null } });
  const sslRequest = sent(auth.onPacket(greeting()));
  assert.equal(sslRequest.seq, 1);
  assert.equal(sslRequest.payload.length, 32);
  assert.ok(sslRequest.payload.readUInt32LE(0) & Cap.SSL);
  assert.equal(auth.tls, true);
  assert.equal(sent(auth.takeResponseAfterTls()).seq, 2);
  const answer = sent(auth.onPacket(framePacket(PERFORM_FULL_AUTH, 3)));
  assert.deepEqual(answer, { seq: 4, payload: Buffer.from(`${PASSWORD}\0`) });
});

test('ssl_mode = "preferred" against a server that offers no TLS (or an attacker who strips it): plain, full auth refused', () => {
  const auth = authenticator({ ssl: { mode: 'preferred', check: 'none', ca: null } });
  sent(auth.onPacket(greeting('caching_sha2_password', MYSQL_80_CAPABILITIES & ~Cap.SSL)));
  assert.equal(auth.tls, false);
  assert.throws(() => auth.onPacket(framePacket(PERFORM_FULL_AUTH, 2)), { errno: 2061 });
});

test('a TLS mode that needs TLS refuses a server that offers none (ERR 2026) before sending credentials', () => {
  for (const mode of ['required', 'verify_ca'] as const) {
    const auth = authenticator({ ssl: { mode, check: 'chain', ca: null } });
    assert.throws(
      () => auth.onPacket(greeting('caching_sha2_password', MYSQL_80_CAPABILITIES & ~Cap.SSL)),
      (error: unknown) => error instanceof BackendError && error.errno === 2026,
    );
  }
});

test('an AuthSwitchRequest to caching_sha2_password follows the same rules; mysql_clear_password is refused', () => {
  const switched = authenticator();
  switched.onPacket(greeting('mysql_native_password'));
  const switchTo = (plugin: string) =>
    framePacket(
      Buffer.concat([Buffer.from([0xfe]), Buffer.from(`${plugin}\0`), SCRAMBLE, Buffer.from([0])]),
      2,
    );
  assert.equal(sent(switched.onPacket(switchTo('caching_sha2_password'))).seq, 3);
  assert.throws(() => switched.onPacket(framePacket(PERFORM_FULL_AUTH, 4)), { errno: 2061 });
  const clear = authenticator();
  clear.onPacket(greeting('mysql_native_password'));
  assert.throws(
    () => clear.onPacket(switchTo('mysql_clear_password')),
    (error: unknown) =>
      error instanceof BackendError &&
      /'mysql_clear_password', which Athena does not support/.test(error.message),
  );
});
