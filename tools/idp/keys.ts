import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'oidc-provider';
import { z } from 'zod';

/*
 * The provider's secrets: one RS256 signing key per tenant (each tenant has its own JWKS, as in
 * Entra ID) and the cookie-signing keys. Kept in <dataDir>/idp-keys.json (mode 0600) so tokens
 * and the server's JWKS cache survive a restart; a new tenant gets a new key.
 */

const PrivateRsaJwk = z.object({
  kty: z.literal('RSA'),
  kid: z.string().min(1),
  alg: z.literal('RS256'),
  use: z.literal('sig'),
  n: z.string(),
  e: z.string(),
  d: z.string(),
  p: z.string(),
  q: z.string(),
  dp: z.string(),
  dq: z.string(),
  qi: z.string(),
});

const KeyFile = z.object({
  signing: z.record(z.string(), PrivateRsaJwk),
  cookies: z.array(z.string().min(32)).min(1),
});
export type IdpKeys = { signing: Record<string, JWK>; cookies: string[] };

export function newSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = PrivateRsaJwk.omit({ kid: true, alg: true, use: true }).parse(privateKey.export({ format: 'jwk' }));
  // RFC 7638 thumbprint as the key id, like any JWKS consumer expects a stable kid.
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url');
  return { ...jwk, kty: 'RSA', kid, alg: 'RS256', use: 'sig' };
}

export function loadOrCreateIdpKeys(dataDir: string, tenantIds: readonly string[]): IdpKeys {
  const file = path.join(dataDir, 'idp-keys.json');
  let keys: IdpKeys = { signing: {}, cookies: [randomBytes(32).toString('base64url')] };
  if (existsSync(file)) {
    const parsed = KeyFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is not a dev identity provider key file: ${parsed.error.message}`);
    keys = parsed.data;
  }
  const missing = tenantIds.filter((id) => !keys.signing[id]);
  if (missing.length > 0 || !existsSync(file)) {
    for (const id of missing) keys.signing[id] = newSigningKey();
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return keys;
}
