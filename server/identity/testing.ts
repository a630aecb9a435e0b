import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { Clock } from '../clock';
import { loadOrCreateCertificate } from '../tls/certificate';

/*
 * A stand-in for Azure AD in tests: per-tenant discovery documents and JWKS over HTTPS on a
 * loopback port with a throwaway certificate, and a signer for access tokens shaped like Azure
 * AD v2's. Independent of the dev provider in tools/idp on purpose.
 */

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export const TEST_AUDIENCE = 'api://rmm-test-api';
export const TEST_SCOPE = 'access_as_user';

export interface FakeTenantProvider {
  authorityBase: string;
  /** The provider's certificate (PEM file), for RMM_AUTH_CA_FILE. */
  caFile: string;
  /** GETs served so far, by path. */
  fetches: string[];
  /** Publishes a signing key for a new tenant and returns the tenant id. */
  addTenant(): Promise<string>;
  /** Adds a new key (the old ones stay published) and returns its kid. */
  rotate(tenantId: string): Promise<string>;
  /** An access token for `tenantId`; `claims` override or (undefined) remove the defaults. */
  token(tenantId: string, claims?: JWTPayload, options?: { kid?: string; key?: KeyPair }): Promise<string>;
  close(): Promise<void>;
}

export async function startFakeTenantProvider(clock: Clock): Promise<FakeTenantProvider> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-fake-idp-'));
  const certificate = await loadOrCreateCertificate({ dataDir: dir }, clock);
  const tenants = new Map<string, Array<{ kid: string; key: KeyPair }>>();
  const fetches: string[] = [];
  let authorityBase = '';

  const server = https.createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    const pathname = new URL(req.url ?? '/', 'https://localhost').pathname;
    fetches.push(pathname);
    const match = /^\/([0-9a-f-]{36})\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys)$/.exec(pathname);
    const keys = match?.[1] ? tenants.get(match[1]) : undefined;
    if (!match?.[1] || !keys) {
      res.writeHead(404).end();
      return;
    }
    const tenantId = match[1];
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (match[2]?.startsWith('v2.0')) {
      send({ issuer: `${authorityBase}/${tenantId}/v2.0`, jwks_uri: `${authorityBase}/${tenantId}/discovery/v2.0/keys` });
      return;
    }
    Promise.all(keys.map(async ({ kid, key }) => ({ ...(await exportJWK(key.publicKey)), kid, use: 'sig', alg: 'RS256' })))
      .then((jwks) => send({ keys: jwks }))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authorityBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const addKey = async (tenantId: string) => {
    const kid = `kid-${randomUUID()}`;
    const list = tenants.get(tenantId) ?? [];
    list.push({ kid, key: await generateKeyPair('RS256') });
    tenants.set(tenantId, list);
    return kid;
  };

  return {
    authorityBase,
    caFile: certificate.certFile,
    fetches,
    async addTenant() {
      const tenantId = randomUUID();
      await addKey(tenantId);
      return tenantId;
    },
    rotate: addKey,
    async token(tenantId, claims = {}, options = {}) {
      const keys = tenants.get(tenantId) ?? [];
      const latest = keys.at(-1);
      if (!latest) throw new Error(`no keys for tenant ${tenantId}`);
      const now = Math.floor(clock.now().getTime() / 1000);
      const oid = randomUUID();
      const payload: JWTPayload = {
        iss: `${authorityBase}/${tenantId}/v2.0`, aud: TEST_AUDIENCE, tid: tenantId, oid,
        scp: TEST_SCOPE, name: `User ${oid.slice(0, 8)}`, preferred_username: `${oid.slice(0, 8)}@${tenantId.slice(0, 8)}.test`,
        iat: now, nbf: now, exp: now + 3600, ver: '2.0', ...claims,
      };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: options.kid ?? latest.kid, typ: 'JWT' }).sign((options.key ?? latest.key).privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
