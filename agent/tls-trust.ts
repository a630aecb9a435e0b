import { createHash, timingSafeEqual } from 'node:crypto';
import type { ClientRequest } from 'node:http';
import { TLSSocket } from 'node:tls';

/*
 * How the agent decides the server is the server. Exactly one of:
 * - `pin`: the SHA-256 of the server certificate's DER must equal the pin (self-signed servers).
 * - `ca`: the chain must verify against this CA bundle, with normal hostname checks.
 * - `system`: the chain must verify against Node's default CA store, with hostname checks.
 * There is deliberately no "insecure" mode.
 */
export type ServerTrust =
  | { kind: 'pin'; sha256: Buffer }
  | { kind: 'ca'; pem: string }
  | { kind: 'system' };

const FINGERPRINT = /^sha256:((?:[0-9a-f]{2}:?){31}[0-9a-f]{2})$/i;

/** Parses `sha256:` + 64 hex digits, colons between bytes optional, any case. Null if malformed. */
export function parseFingerprint(text: string): Buffer | null {
  const match = FINGERPRINT.exec(text.trim());
  const hex = match?.[1]?.replaceAll(':', '');
  if (hex === undefined || hex.length !== 64) return null;
  return Buffer.from(hex, 'hex');
}

export function formatFingerprint(sha256: Buffer): string {
  return `sha256:${sha256.toString('hex')}`;
}

export function certificateFingerprint(der: Buffer): Buffer {
  return createHash('sha256').update(der).digest();
}

export class TrustError extends Error {
  override readonly name = 'TrustError';
}

/** Checks the leaf certificate of an established TLS socket against the pin, in constant time. */
export function verifyPinnedPeer(socket: TLSSocket, pin: Buffer): void {
  const der = socket.getPeerCertificate(true).raw;
  if (!Buffer.isBuffer(der) || der.length === 0) {
    throw new TrustError('server presented no certificate');
  }
  const actual = certificateFingerprint(der);
  if (actual.length !== pin.length || !timingSafeEqual(actual, pin)) {
    throw new TrustError(
      `server certificate fingerprint ${formatFingerprint(actual)} does not match the pinned ${formatFingerprint(pin)}`,
    );
  }
}

/** The subset of `ws` ClientOptions that carries the trust decision. */
export interface TrustOptions {
  minVersion: 'TLSv1.2';
  ca?: string;
  rejectUnauthorized?: boolean;
  finishRequest?: (request: ClientRequest) => void;
}

/**
 * For a pin, chain validation is switched off only because the pin replaces it: the upgrade
 * request is not even written until the peer certificate matched, so no byte of the WebSocket
 * conversation (and no credential) reaches an impostor.
 */
export function trustOptions(trust: ServerTrust): TrustOptions {
  switch (trust.kind) {
    case 'system':
      return { minVersion: 'TLSv1.2' };
    case 'ca':
      return { minVersion: 'TLSv1.2', ca: trust.pem };
    case 'pin':
      return {
        minVersion: 'TLSv1.2',
        rejectUnauthorized: false,
        finishRequest: (request) => holdRequestUntilPinned(request, trust.sha256),
      };
  }
}

function holdRequestUntilPinned(request: ClientRequest, pin: Buffer): void {
  request.once('socket', (socket) => {
    if (!(socket instanceof TLSSocket)) {
      request.destroy(new TrustError('pinned connection is not TLS'));
      return;
    }
    socket.once('secureConnect', () => {
      try {
        verifyPinnedPeer(socket, pin);
      } catch (error) {
        request.destroy(error instanceof Error ? error : new TrustError(String(error)));
        return;
      }
      request.end();
    });
  });
}

/** OpenSSL/Node codes meaning "the certificate is not trusted", as opposed to network trouble. */
const CERTIFICATE_ERROR_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function isTrustFailure(error: unknown): boolean {
  if (error instanceof TrustError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && CERTIFICATE_ERROR_CODES.has(code);
}
