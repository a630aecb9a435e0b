import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../clock';
import { acceptedAudiences, claimedTenant, createAccessTokenVerifier, TokenRejected, type TokenRejection } from './access-token';
import { createTenantKeys } from './tenant-keys';

const AUTHORITY = 'https://login.example.test';
const AUDIENCE = 'api://rmm-test';
const SCOPE = 'access_as_user';
const tid = randomUUID();
const otherTid = randomUUID();
const oid = randomUUID();

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** A fake identity provider: discovery + JWKS per tenant, counting fetches. */
function fakeProvider() {
  const published = new Map<string, Array<{ kid: string; key: KeyPair }>>();
  const fetches: string[] = [];
  const fetchJson = async (url: string): Promise<unknown> => {
    fetches.push(url);
    const match = /^https:\/\/login\.example\.test\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|keys)$/.exec(url);
    if (!match?.[1]) throw new Error(`404 ${url}`);
    const tenant = match[1];
    if (match[2] === 'keys') {
      return { keys: await Promise.all((published.get(tenant) ?? []).map(async ({ kid, key }) => ({ ...(await exportJWK(key.publicKey)), kid, use: 'sig' }))) };
    }
    return { issuer: `${AUTHORITY}/${tenant}/v2.0`, jwks_uri: `${AUTHORITY}/${tenant}/keys` };
  };
  return { published, fetches, fetchJson };
}

describe('Azure AD access token validation', () => {
  let now = new Date('2026-11-23T12:00:00Z');
  const clock: Clock = { now: () => now };
  let signing: KeyPair;
  let forger: KeyPair;
  const provider = fakeProvider();
  const keys = createTenantKeys({ authorityBase: AUTHORITY, fetchJson: provider.fetchJson, clock, refetchCooldownMs: 60_000 });
  const verifier = createAccessTokenVerifier({ authorityBase: AUTHORITY, audience: AUDIENCE, scope: SCOPE, keys, clock });

  const seconds = () => Math.floor(now.getTime() / 1000);
  const sign = (claims: JWTPayload = {}, options: { key?: KeyPair; kid?: string; alg?: string } = {}) =>
    new SignJWT({ tid, oid, scp: `${SCOPE} other`, name: 'Dana Doctor', preferred_username: 'dana@clinic.test', iss: `${AUTHORITY}/${tid}/v2.0`, aud: AUDIENCE, iat: seconds(), nbf: seconds(), exp: seconds() + 3600, ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1', typ: 'JWT' })
      .sign((options.key ?? signing).privateKey);
  const rejection = async (token: string): Promise<TokenRejection | 'accepted'> => {
    try {
      await verifier.verify(token);
      return 'accepted';
    } catch (err) {
      if (err instanceof TokenRejected) return err.reason;
      throw err;
    }
  };

  beforeAll(async () => {
    signing = await generateKeyPair('RS256');
    forger = await generateKeyPair('RS256');
    provider.published.set(tid, [{ kid: 'k1', key: signing }]);
    provider.published.set(otherTid, [{ kid: 'k1', key: signing }]);
  });

  it('accepts a valid token and returns the (tid, oid) identity', async () => {
    expect(await verifier.verify(await sign())).toEqual({ tenantId: tid, objectId: oid, name: 'Dana Doctor', username: 'dana@clinic.test' });
  });

  it('refuses a token signed by another key under a known kid (forged)', async () => {
    expect(await rejection(await sign({}, { key: forger }))).toBe('bad_signature');
  });

  it('refuses a wrong audience, a wrong issuer, and the issuer of another tenant than tid', async () => {
    expect(await rejection(await sign({ aud: 'api://someone-else' }))).toBe('wrong_audience');
    expect(await rejection(await sign({ iss: `https://evil.example.test/${tid}/v2.0` }))).toBe('wrong_issuer');
    expect(await rejection(await sign({ iss: `${AUTHORITY}/${otherTid}/v2.0` }))).toBe('wrong_issuer');
    expect(await rejection(await sign({ iss: `${AUTHORITY}/${tid}/v2.0/` }))).toBe('wrong_issuer');
  });

  it('accepts the API as api://<client id> or as the bare client id, and nothing else', async () => {
    const clientId = randomUUID();
    const paired = createAccessTokenVerifier({ authorityBase: AUTHORITY, audience: `api://${clientId}`, scope: SCOPE, keys, clock });
    for (const aud of [clientId, `api://${clientId}`]) await expect(paired.verify(await sign({ aud }))).resolves.toMatchObject({ objectId: oid });
    for (const aud of [randomUUID(), `api://${randomUUID()}`, `${clientId}/`, [`api://${clientId}x`]]) {
      await expect(paired.verify(await sign({ aud }))).rejects.toMatchObject({ reason: 'wrong_audience' });
    }
    expect(acceptedAudiences(clientId)).toEqual([clientId, `api://${clientId}`]);
    expect(acceptedAudiences('api://rmm-test')).toEqual(['api://rmm-test']);
  });

  it('refuses expired and not-yet-valid tokens beyond the 60 s skew, accepts within it', async () => {
    expect(await rejection(await sign({ exp: seconds() - 61 }))).toBe('expired');
    expect(await rejection(await sign({ exp: seconds() - 30 }))).toBe('accepted');
    expect(await rejection(await sign({ nbf: seconds() + 61 }))).toBe('not_yet_valid');
    expect(await rejection(await sign({ nbf: seconds() + 30 }))).toBe('accepted');
  });

  it('refuses a token without the required scope, or without tid/oid/scp/exp', async () => {
    expect(await rejection(await sign({ scp: 'other access_as_user_not' }))).toBe('missing_scope');
    expect(await rejection(await sign({ scp: undefined }))).toBe('missing_claim');
    expect(await rejection(await sign({ oid: undefined }))).toBe('missing_claim');
    expect(await rejection(await sign({ oid: 'not-a-uuid' }))).toBe('missing_claim');
    expect(await rejection(await sign({ exp: undefined }))).toBe('missing_claim');
    expect(await rejection(await sign({ tid: undefined }))).toBe('missing_claim');
  });

  it('refuses alg none and HS256 (even keyed with the public key), and garbage', async () => {
    const header = (h: object) => Buffer.from(JSON.stringify(h)).toString('base64url');
    const body = Buffer.from(JSON.stringify({ tid, oid, scp: SCOPE, aud: AUDIENCE, iss: `${AUTHORITY}/${tid}/v2.0`, exp: seconds() + 60 })).toString('base64url');
    expect(await rejection(`${header({ alg: 'none', typ: 'JWT' })}.${body}.`)).toBe('alg_not_allowed');
    const publicJwk = await exportJWK(signing.publicKey);
    const hmacKey = new TextEncoder().encode(JSON.stringify(publicJwk));
    const hs = await new SignJWT({ tid, oid, scp: SCOPE, iss: `${AUTHORITY}/${tid}/v2.0`, aud: AUDIENCE, exp: seconds() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(hmacKey);
    expect(await rejection(hs)).toBe('alg_not_allowed');
    expect(await rejection('not.a.jwt')).toBe('malformed');
    expect(() => claimedTenant('x')).toThrow(TokenRejected);
  });

  it('follows key rotation: an unknown kid refetches the keys once; again within the cooldown, no refetch', async () => {
    const rotated = await generateKeyPair('RS256');
    provider.published.set(tid, [{ kid: 'k1', key: signing }, { kid: 'k2', key: rotated }]);
    now = new Date(now.getTime() + 61_000); // past the cooldown since the first fetch
    const before = provider.fetches.length;
    expect(await rejection(await sign({}, { key: rotated, kid: 'k2' }))).toBe('accepted');
    expect(provider.fetches.length - before).toBe(2); // discovery + JWKS, once
    expect(await rejection(await sign({}, { key: rotated, kid: 'k2' }))).toBe('accepted');
    expect(provider.fetches.length - before).toBe(2); // cached

    const attacker = await generateKeyPair('RS256');
    expect(await rejection(await sign({}, { key: attacker, kid: 'k-unknown' }))).toBe('unknown_key');
    expect(await rejection(await sign({}, { key: attacker, kid: 'k-unknown-2' }))).toBe('unknown_key');
    expect(provider.fetches.length - before).toBe(2); // within the cooldown: refused without refetch
    console.log(`key rotation: ${provider.fetches.length - before} fetches for a new kid, then 0 for unknown kids within the cooldown`);
  });

  it('refuses when the provider cannot be reached, and backs off before trying again', async () => {
    const failing = { calls: 0 };
    const broken = createTenantKeys({ authorityBase: AUTHORITY, fetchJson: async () => { failing.calls++; throw new Error('ECONNREFUSED'); }, clock });
    const v = createAccessTokenVerifier({ authorityBase: AUTHORITY, audience: AUDIENCE, scope: SCOPE, keys: broken, clock });
    for (let i = 0; i < 3; i++) await expect(v.verify(await sign())).rejects.toMatchObject({ reason: 'keys_unavailable' });
    expect(failing.calls).toBe(1);
  });

  it('refuses a discovery document naming another issuer', async () => {
    const lying = createTenantKeys({ authorityBase: AUTHORITY, fetchJson: async () => ({ issuer: `${AUTHORITY}/${otherTid}/v2.0`, jwks_uri: `${AUTHORITY}/${tid}/keys` }), clock });
    const v = createAccessTokenVerifier({ authorityBase: AUTHORITY, audience: AUDIENCE, scope: SCOPE, keys: lying, clock });
    await expect(v.verify(await sign())).rejects.toMatchObject({ reason: 'keys_unavailable' });
  });
});
