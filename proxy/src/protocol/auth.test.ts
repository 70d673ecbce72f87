// Auth vectors: the expected bytes are computed here, step by step with node:crypto, from the
// protocol's definition, not with the functions under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, privateDecrypt, constants } from 'node:crypto';
import {
  cachingSha2Token,
  nativePasswordToken,
  newScramble,
  rsaEncryptPassword,
  verifyNativePassword,
} from './auth.ts';

const scramble = Buffer.from('0123456789abcdefghij', 'latin1');
const password = 'test';

test('mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw)))', () => {
  const h1 = createHash('sha1').update(password).digest();
  const h2 = createHash('sha1').update(h1).digest();
  const h3 = createHash('sha1').update(scramble).update(h2).digest();
  const expected = Buffer.from(h1.map((b, i) => b ^ h3[i]!));
  assert.deepEqual(nativePasswordToken(password, scramble), expected);
  assert.equal(expected.length, 20);
  // The same vector computed with Python's hashlib, so a shared mistake in both computations shows.
  assert.equal(expected.toString('hex'), '0207b4a03a9f9931571736cd67105dad71c6c0e4');
});

test('mysql_native_password: empty password sends an empty response', () => {
  assert.equal(nativePasswordToken('', scramble).length, 0);
  assert.equal(verifyNativePassword(Buffer.alloc(0), '', scramble), true);
  assert.equal(verifyNativePassword(Buffer.alloc(0), 'x', scramble), false);
});

test('verifyNativePassword accepts the right token only', () => {
  const token = nativePasswordToken(password, scramble);
  assert.equal(verifyNativePassword(token, password, scramble), true);
  assert.equal(verifyNativePassword(token, 'other', scramble), false);
  assert.equal(verifyNativePassword(token, password, Buffer.from('jihgfedcba9876543210')), false);
  assert.equal(verifyNativePassword(token.subarray(0, 19), password, scramble), false);
});

test('caching_sha2_password: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble)', () => {
  const h1 = createHash('sha256').update(password).digest();
  const h2 = createHash('sha256').update(h1).digest();
  const h3 = createHash('sha256').update(h2).update(scramble).digest();
  const expected = Buffer.from(h1.map((b, i) => b ^ h3[i]!));
  assert.deepEqual(cachingSha2Token(password, scramble), expected);
  assert.equal(expected.toString('hex'), 'd32f76e870b9ff207cba90a790bd279392fd28cbbee74d20cab38aef03a23f44');
  assert.equal(cachingSha2Token('', scramble).length, 0);
});

test('caching_sha2_password full auth: RSA-OAEP of (password + NUL) XOR scramble', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const encrypted = rsaEncryptPassword('s3cret', scramble, publicKey);
  const plain = privateDecrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
    encrypted,
  );
  const expected = Buffer.from('s3cret\0', 'latin1').map((b, i) => b ^ scramble[i % 20]!);
  assert.deepEqual(plain, Buffer.from(expected));
});

test('scrambles are 20 fresh printable non-NUL bytes', () => {
  const a = newScramble();
  const b = newScramble();
  assert.equal(a.length, 20);
  assert.notDeepEqual(a, b);
  for (const byte of a) assert.ok(byte > 0x20 && byte < 0x7f);
});
