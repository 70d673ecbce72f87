// Throwaway certificates for TLS tests, made with openssl: a CA, and server certificates it signs
// for the names a test chooses (a self-signed pair is src/util/certificate.ts's job).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface TestCa {
  certFile: string;
  keyFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
}

/** A CA valid for two days, its certificate and key in `dir`. */
export function makeTestCa(dir: string, commonName: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'ca.pem');
  const keyFile = path.join(dir, 'ca-key.pem');
  openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', keyFile, '-out', certFile,
  ]); // prettier-ignore
  return { certFile, keyFile };
}

/**
 * A server certificate signed by `ca` whose only names are `subjectAltName` (e.g. "DNS:localhost"):
 * a client that checks the name accepts exactly those.
 */
export function issueServerCertificate(
  ca: TestCa,
  dir: string,
  subjectAltName: string,
): { certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, 'server.pem');
  const keyFile = path.join(dir, 'server-key.pem');
  const request = path.join(dir, 'server.csr');
  const extensions = path.join(dir, 'server.ext');
  writeFileSync(
    extensions,
    `subjectAltName=${subjectAltName}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=athena-test-server',
    '-keyout',
    keyFile,
    '-out',
    request,
  ]);
  openssl([
    'x509', '-req', '-in', request, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
    '-days', '2', '-extfile', extensions, '-out', certFile,
  ]); // prettier-ignore
  return { certFile, keyFile };
}
