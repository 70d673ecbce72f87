// Password scrambles of the two authentication plugins Athena speaks.
import {
  constants,
  createHash,
  createPublicKey,
  publicEncrypt,
  randomFillSync,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

function sha1(...parts: Buffer[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function xorInto(target: Buffer, mask: Buffer): Buffer {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! ^ mask[i % mask.length]!;
  return target;
}

/** A fresh 20-byte scramble of printable, non-NUL bytes (some clients treat the scramble as a C string). */
export function newScramble(): Buffer {
  const buf = randomFillSync(Buffer.alloc(20));
  for (let i = 0; i < buf.length; i++) buf[i] = 0x21 + (buf[i]! % 94);
  return buf;
}

/** mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))); empty for no password. */
export function nativePasswordToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  const stage2 = sha1(stage1);
  return xorInto(stage1, sha1(scramble.subarray(0, 20), stage2));
}

/** Constant-time check of a client's mysql_native_password response. */
export function verifyNativePassword(token: Buffer, password: string, scramble: Buffer): boolean {
  const expected = nativePasswordToken(password, scramble);
  if (expected.length !== token.length) return false;
  return expected.length === 0 || timingSafeEqual(expected, token);
}

/** caching_sha2_password fast auth: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). */
export function cachingSha2Token(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  const stage2 = sha256(stage1);
  return xorInto(stage1, sha256(stage2, scramble.subarray(0, 20)));
}

/**
 * caching_sha2_password full auth over plain TCP: (password + NUL) XOR scramble, encrypted with the
 * server's RSA public key using OAEP padding (SHA-1), as MySQL 8 expects.
 */
export function rsaEncryptPassword(
  password: string,
  scramble: Buffer,
  publicKey: string | Buffer | KeyObject,
): Buffer {
  const plain = xorInto(Buffer.from(`${password}\0`, 'utf8'), scramble.subarray(0, 20));
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, plain);
}

/**
 * An RSA public key from PEM (SPKI "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY", as MySQL writes
 * public_key.pem); throws an Error saying what the text is instead.
 */
export function rsaPublicKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`not a PEM public key (${(error as Error).message})`, { cause: error });
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`not an RSA public key (its type is ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  return key;
}
