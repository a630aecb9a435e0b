import { importJWK, type JWK } from 'jose';
import { z } from 'zod';
import type { Clock } from '../clock';
import type { FetchJson } from './fetch-json';

/*
 * Signing keys per Azure AD tenant, from the tenant's discovery document (`jwks_uri`). Cached for
 * `ttlMs`; a token naming an unknown `kid` triggers one refetch (Azure rotates keys), but at most
 * once per `refetchCooldownMs` per tenant, so forged kids cannot make us hammer the provider. A
 * failed fetch is not retried for `failureBackoffMs`. Only registered tenants ever get here.
 */

export class KeysUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeysUnavailable';
  }
}
export class UnknownSigningKey extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownSigningKey';
  }
}

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.url() });
const RsaJwk = z.looseObject({
  kty: z.literal('RSA'),
  kid: z.string().min(1).max(200),
  use: z.string().optional(),
  n: z.string().min(1),
  e: z.string().min(1),
});
const Jwks = z.object({ keys: z.array(z.unknown()).max(100) });

export interface TenantKeysOptions {
  authorityBase: string;
  fetchJson: FetchJson;
  clock: Clock;
  ttlMs?: number;
  refetchCooldownMs?: number;
  failureBackoffMs?: number;
}

export interface TenantKeys {
  /** The verification key `kid` of tenant `tenantId`. Throws UnknownSigningKey or KeysUnavailable. */
  keyFor(tenantId: string, kid: string): Promise<CryptoKey>;
}

interface Entry {
  keys: Map<string, Promise<CryptoKey>>;
  fetchedAt: number;
}

export function issuerFor(authorityBase: string, tenantId: string): string {
  return `${authorityBase.replace(/\/+$/, '')}/${tenantId}/v2.0`;
}

export function createTenantKeys(options: TenantKeysOptions): TenantKeys {
  const { authorityBase, fetchJson, clock } = options;
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const cooldownMs = options.refetchCooldownMs ?? 5 * 60 * 1000;
  const backoffMs = options.failureBackoffMs ?? 10_000;
  const entries = new Map<string, Entry>();
  const failedAt = new Map<string, number>();
  const inflight = new Map<string, Promise<Entry>>();

  async function load(tenantId: string): Promise<Entry> {
    const issuer = issuerFor(authorityBase, tenantId);
    const discovery = Discovery.safeParse(await fetchJson(`${issuer}/.well-known/openid-configuration`));
    if (!discovery.success) throw new Error('discovery document does not parse');
    if (discovery.data.issuer !== issuer) throw new Error(`discovery document names issuer ${discovery.data.issuer}, expected ${issuer}`);
    const jwks = Jwks.safeParse(await fetchJson(discovery.data.jwks_uri));
    if (!jwks.success) throw new Error('JWKS does not parse');
    const keys = new Map<string, Promise<CryptoKey>>();
    for (const raw of jwks.data.keys) {
      const jwk = RsaJwk.safeParse(raw);
      if (!jwk.success || (jwk.data.use !== undefined && jwk.data.use !== 'sig')) continue;
      const imported = importJWK({ kty: 'RSA', n: jwk.data.n, e: jwk.data.e } satisfies JWK, 'RS256') as Promise<CryptoKey>;
      imported.catch(() => undefined); // a broken key fails only the token that names it
      keys.set(jwk.data.kid, imported);
    }
    return { keys, fetchedAt: clock.now().getTime() };
  }

  function refresh(tenantId: string): Promise<Entry> {
    const running = inflight.get(tenantId);
    if (running) return running;
    const now = clock.now().getTime();
    const failed = failedAt.get(tenantId);
    if (failed !== undefined && now - failed < backoffMs) {
      return Promise.reject(new KeysUnavailable(`keys of tenant ${tenantId} could not be fetched recently; retrying after a pause`));
    }
    const started = load(tenantId).then(
      (entry) => {
        entries.set(tenantId, entry);
        failedAt.delete(tenantId);
        return entry;
      },
      (err: unknown) => {
        failedAt.set(tenantId, clock.now().getTime());
        throw new KeysUnavailable(`keys of tenant ${tenantId}: ${err instanceof Error ? err.message : String(err)}`);
      },
    ).finally(() => inflight.delete(tenantId));
    inflight.set(tenantId, started);
    return started;
  }

  return {
    async keyFor(tenantId, kid) {
      let entry = entries.get(tenantId);
      if (!entry || clock.now().getTime() - entry.fetchedAt >= ttlMs) entry = await refresh(tenantId);
      let key = entry.keys.get(kid);
      if (!key && clock.now().getTime() - entry.fetchedAt >= cooldownMs) {
        entry = await refresh(tenantId);
        key = entry.keys.get(kid);
      }
      if (!key) throw new UnknownSigningKey(`tenant ${tenantId} has no signing key ${kid}`);
      return key;
    },
  };
}
