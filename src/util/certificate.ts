import path from 'node:path';
import { InfrastructureError } from './errors.ts';
import type { Exec } from './exec.ts';

/**
 * A self-signed certificate and key for this machine (CN localhost, SAN 127.0.0.1 and localhost),
 * made with openssl into `dir` as cert.pem and key.pem: what a TLS arm or a TLS test serves.
 */
export async function makeSelfSignedCertificate(
  exec: Exec,
  dir: string,
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost'];
  args.push('-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile);
  const made = await exec('openssl', args, { timeoutMs: 60_000 }).catch((error: unknown) => ({
    exitCode: null,
    stderr: String(error),
  }));
  if (made.exitCode !== 0) {
    throw new InfrastructureError(
      `a self-signed certificate is made with openssl (\`sudo apt-get install -y openssl\`): ${made.stderr.trim()}`,
    );
  }
  return { certFile, keyFile };
}
