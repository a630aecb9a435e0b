import { X509Certificate, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { ConsoleError } from './console-error';

/*
 * How the console decides it is talking to its own server. Either a CA bundle (production) or a
 * SHA-256 pin of the server's self-signed certificate (bootstrap). Certificate verification is
 * never switched off for a connection that carries a credential: the pin only bootstraps a
 * trust anchor through a handshake that sends no data, and every real connection then runs
 * full verification against that anchor plus the pin.
 */

export type ServerTrust =
  | { kind: 'ca'; caPem: string }
  | { kind: 'fingerprint'; sha256: string };

export interface TlsOptions {
  ca: string;
  minVersion: 'TLSv1.2';
  checkServerIdentity?: (host: string, cert: tls.PeerCertificate) => Error | undefined;
}

export interface TrustResolver {
  /** TLS options for the next connection to the server. */
  tlsOptions(): Promise<TlsOptions>;
  /** Forget a learned anchor, e.g. after a verification failure, so the next call re-checks. */
  invalidate(): void;
}

export async function loadServerTrust(source: { caFile?: string; fingerprint?: string }): Promise<ServerTrust> {
  if (source.fingerprint) return { kind: 'fingerprint', sha256: normalizeFingerprint(source.fingerprint) };
  if (source.caFile) return { kind: 'ca', caPem: await readFile(source.caFile, 'utf8') };
  throw new ConsoleError('bad_request', 'no server trust configured: set a CA file or a SHA-256 fingerprint');
}

/** Accepts "AB:CD:..." or "abcd..." and returns 64 upper-case hex digits. */
export function normalizeFingerprint(value: string): string {
  const hex = value.replace(/^sha256[:=/]/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new ConsoleError('bad_request', 'server fingerprint must be a SHA-256 digest (64 hex digits)');
  }
  return hex;
}

export function certificateFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase();
}

export function createTrustResolver(trust: ServerTrust, serverUrl: URL): TrustResolver {
  if (trust.kind === 'ca') {
    const options: TlsOptions = { ca: trust.caPem, minVersion: 'TLSv1.2' };
    return { tlsOptions: async () => options, invalidate: () => undefined };
  }
  const pin = trust.sha256;
  let anchor: Promise<string> | undefined;
  const checkServerIdentity = (_host: string, cert: tls.PeerCertificate): Error | undefined =>
    certificateFingerprint(cert.raw) === pin
      ? undefined
      : new ConsoleError('tls_untrusted', 'server certificate does not match the pinned fingerprint');
  return {
    async tlsOptions() {
      anchor ??= fetchPinnedCertificate(serverUrl, pin);
      try {
        return { ca: await anchor, minVersion: 'TLSv1.2', checkServerIdentity };
      } catch (error) {
        anchor = undefined;
        throw error;
      }
    },
    invalidate() {
      anchor = undefined;
    },
  };
}

/**
 * Handshakes with the server without sending a byte of application data, checks the leaf
 * certificate against the pin and returns it as PEM to use as the only trust anchor.
 * The pinned certificate must be self-signed (the bootstrap case); a CA-issued one needs a CA file.
 */
function fetchPinnedCertificate(serverUrl: URL, pin: string): Promise<string> {
  const host = serverUrl.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(serverUrl.port || 443),
      servername: isIP(host) ? undefined : host,
      minVersion: 'TLSv1.2',
      // Verification happens below against the pin; this socket never carries data.
      rejectUnauthorized: false,
      timeout: 10_000,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      if (!cert.raw || certificateFingerprint(cert.raw) !== pin) {
        reject(new ConsoleError('tls_untrusted', 'server certificate does not match the pinned fingerprint'));
        return;
      }
      resolve(new X509Certificate(cert.raw).toString());
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new ConsoleError('server_unreachable', 'timed out connecting to the server'));
    });
    socket.once('error', (error) => {
      reject(new ConsoleError('server_unreachable', `cannot reach the server: ${error.message}`, { cause: error }));
    });
  });
}

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** Maps a socket-level failure to the console's error codes. */
export function connectionError(error: unknown): ConsoleError {
  if (error instanceof ConsoleError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  if (TLS_ERROR_CODES.has(code)) {
    return new ConsoleError('tls_untrusted', `server certificate not trusted: ${message}`, { cause: error });
  }
  return new ConsoleError('server_unreachable', `cannot reach the server: ${message}`, { cause: error });
}
