// How Athena may send its backend password under a shard's configuration: the TLS the shard's keys
// ask for, which caching_sha2_password full-authentication step a connection may take, and the
// start-up warnings for settings that let an attacker on the path read the password.
import type { KeyObject } from 'node:crypto';
import type { ShardConfig, SslMode } from '../config.ts';
import { rsaPublicKey } from '../protocol/auth.ts';

/** How much of the server's certificate is checked: nothing, its chain to a trusted CA, and its name too. */
export type CertificateCheck = 'none' | 'chain' | 'identity';

export interface BackendTls {
  mode: Exclude<SslMode, 'disabled'>;
  check: CertificateCheck;
  /** PEM CA(s) the certificate must chain to; null: the system CAs. */
  ca: Buffer | null;
}

/** The part of a backend target that decides how the password may travel. */
export interface BackendCredentialPolicy {
  /** TLS to the backend (absent: disabled). */
  ssl?: BackendTls;
  /** The server's RSA public key for caching_sha2_password full authentication on plain TCP, pinned. */
  rsaPublicKey?: KeyObject;
  /** On plain TCP, ask the server for its RSA public key (unverified: get_server_public_key). */
  fetchPublicKey?: boolean;
  /** How messages name the configuration entry, e.g. `shard "default"`. */
  label?: string;
}

/**
 * The certificate check an ssl_mode asks for. `preferred` never verifies (an attacker can strip TLS
 * anyway); `required` verifies the chain unless ssl_verify_server_cert = false.
 */
export function certificateCheck(
  mode: Exclude<SslMode, 'disabled'>,
  verifyServerCert = true,
): CertificateCheck {
  if (mode === 'verify_identity') return 'identity';
  if (mode === 'verify_ca') return 'chain';
  if (mode === 'required' && verifyServerCert) return 'chain';
  return 'none';
}

/**
 * A shard's credential policy, with its CA and pinned key read (by `read`, which names the key in
 * its error: `section` is the shard's key path) and the key checked to be an RSA public key, so
 * that a bad file stops the start.
 */
export function backendCredentialPolicy(
  shard: ShardConfig,
  section: string,
  read: (file: string, key: string) => Buffer,
): BackendCredentialPolicy {
  const policy: BackendCredentialPolicy = { label: `shard "${shard.name}"` };
  if (shard.ssl_mode !== 'disabled') {
    const check = certificateCheck(shard.ssl_mode, shard.ssl_verify_server_cert);
    const ca =
      check === 'none' || shard.ssl_ca === undefined ? null : read(shard.ssl_ca, `${section}.ssl_ca`);
    policy.ssl = { mode: shard.ssl_mode, check, ca };
  }
  if (shard.rsa_public_key_file !== undefined) {
    const key = `${section}.rsa_public_key_file`;
    const pem = read(shard.rsa_public_key_file, key);
    try {
      policy.rsaPublicKey = rsaPublicKey(pem);
    } catch (error) {
      throw new Error(`${key}: ${shard.rsa_public_key_file} is ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (shard.get_server_public_key === true) policy.fetchPublicKey = true;
  return policy;
}

/** What Athena answers when caching_sha2_password asks for full authentication (0x01 0x04). */
export type FullAuthStep =
  | { kind: 'password_over_tls' }
  | { kind: 'encrypt_with_pinned_key'; key: KeyObject }
  | { kind: 'request_server_key' }
  | { kind: 'refuse'; reason: string };

/**
 * Full authentication sends the password itself: over TLS as it is; on plain TCP encrypted with the
 * server's RSA key, the pinned one, or the one the server sends only when the configuration opts in
 * (whoever sits on the path can send theirs). Otherwise the login is refused, naming the fixes.
 */
export function fullAuthStep(
  policy: BackendCredentialPolicy,
  tlsActive: boolean,
  where: string,
): FullAuthStep {
  if (tlsActive) return { kind: 'password_over_tls' };
  if (policy.rsaPublicKey !== undefined) return { kind: 'encrypt_with_pinned_key', key: policy.rsaPublicKey };
  if (policy.fetchPublicKey === true) return { kind: 'request_server_key' };
  const entry = policy.label === undefined ? '' : ` (${policy.label})`;
  return {
    kind: 'refuse',
    reason:
      `backend ${where}${entry} asked for caching_sha2_password full authentication, which without TLS ` +
      `needs the server's RSA public key, and Athena does not accept that key unverified over plain TCP: ` +
      `set ssl_mode = "verify_identity" (or "verify_ca", "required") for TLS, rsa_public_key_file to pin ` +
      `the server's key, or get_server_public_key = true to take the key the server sends (an attacker ` +
      `on the path can then read the password)`,
  };
}

/** Node's codes for a certificate that does not chain to a trusted CA, or is not valid now. */
const CHAIN_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** What to change when TLS with a backend failed with this error code ("" when not a certificate check). */
export function tlsFailureHint(tls: BackendTls, host: string, code: string | undefined): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && tls.check === 'identity') {
    return (
      `; the server's certificate does not name host "${host}": set host to a name the certificate ` +
      `carries, or use ssl_mode = "verify_ca" to check the CA only`
    );
  }
  if (code === undefined || !CHAIN_ERRORS.has(code) || tls.check === 'none') return '';
  const trusted = tls.ca === null ? 'the system CAs (ssl_ca is not set)' : 'ssl_ca';
  const optOut =
    tls.mode === 'required'
      ? ', or ssl_verify_server_cert = false to accept any certificate (an attacker on the path can then impersonate the server)'
      : '';
  return `; the server's certificate is not signed by a CA in ${trusted}: set ssl_ca to the CA that signed it${optOut}`;
}

/**
 * The shards whose settings let an attacker on the path between Athena and MySQL read the backend
 * password, each with why and what to change. (Athena never sends mysql_clear_password: a server
 * asking for it is refused, whatever the configuration.)
 */
export function backendCredentialWarnings(shards: readonly ShardConfig[]): string[] {
  const warnings: string[] = [];
  const fullAuthInClear =
    'an attacker on the path can present their own certificate, and caching_sha2_password full ' +
    'authentication then sends them the password';
  for (const shard of shards) {
    const who = `shard "${shard.name}" (${shard.host}:${shard.port})`;
    if (shard.ssl_mode === 'preferred') {
      warnings.push(
        `${who}: ssl_mode = "preferred" never verifies the server's certificate: ${fullAuthInClear}; ` +
          `use ssl_mode = "verify_identity" (or "verify_ca") with ssl_ca`,
      );
    }
    if (shard.ssl_mode === 'required' && shard.ssl_verify_server_cert === false) {
      warnings.push(
        `${who}: ssl_mode = "required" with ssl_verify_server_cert = false accepts any certificate: ` +
          `${fullAuthInClear}; set ssl_ca to the CA that signed the server's certificate instead`,
      );
    }
    const plainPossible = shard.ssl_mode === 'disabled' || shard.ssl_mode === 'preferred';
    if (plainPossible && shard.get_server_public_key === true) {
      warnings.push(
        `${who}: get_server_public_key = true takes the RSA key that encrypts the password from the ` +
          `server over plain TCP, unverified: an attacker on the path can send their own and read the ` +
          `password; pin the server's key with rsa_public_key_file, or use TLS (ssl_mode = "verify_identity")`,
      );
    }
  }
  return warnings;
}
