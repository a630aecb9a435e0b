import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import type { Clock } from '../clock';

export interface ServerCertificate {
  cert: string;
  key: string;
  certFile: string;
  /** `sha256:<hex>` of the certificate's DER: what agents and consoles pin. */
  fingerprint: string;
  selfSigned: boolean;
}

export function certificateFingerprint(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

/** Regenerate a generated certificate this long before it expires. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const VALIDITY_DAYS = 397;

/**
 * The configured certificate, or a self-signed one for 127.0.0.1/localhost kept in the data
 * folder (key mode 0600). The generated one is only for loopback: the server refuses to listen
 * elsewhere without a configured certificate.
 */
export async function loadOrCreateCertificate(
  opts: { dataDir: string; certFile?: string | undefined; keyFile?: string | undefined },
  clock: Clock,
): Promise<ServerCertificate> {
  if (opts.certFile && opts.keyFile) {
    const cert = readFileSync(opts.certFile, 'utf8');
    const key = readFileSync(opts.keyFile, 'utf8');
    return { cert, key, certFile: opts.certFile, fingerprint: certificateFingerprint(cert), selfSigned: false };
  }

  const dir = path.join(opts.dataDir, 'tls');
  const certFile = path.join(dir, 'server-cert.pem');
  const keyFile = path.join(dir, 'server-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const notAfter = new Date(new X509Certificate(cert).validTo).getTime();
    if (notAfter - clock.now().getTime() > RENEW_BEFORE_MS) {
      return { cert, key: readFileSync(keyFile, 'utf8'), certFile, fingerprint: certificateFingerprint(cert), selfSigned: true };
    }
  }

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const now = clock.now();
  const pems = await generate([{ name: 'commonName', value: 'rmm-server (local)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + VALIDITY_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
  return { cert: pems.cert, key: pems.private, certFile, fingerprint: certificateFingerprint(pems.cert), selfSigned: true };
}
