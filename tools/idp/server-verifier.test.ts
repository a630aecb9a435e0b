import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../server/clock';
import { createAccessTokenVerifier } from '../../server/identity/access-token';
import { createFetchJson } from '../../server/identity/fetch-json';
import { createTenantKeys } from '../../server/identity/tenant-keys';
import { accessTokenByCodeFlow } from './browser-driver';
import { startDevIdp, type DevIdp } from './dev-idp';
import { DEMO_CLIENT_ID, DEMO_CLINIC_TENANT_ID, DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN, DEMO_TENANTS } from './tenants';

/*
 * The two halves fit: access tokens of the dev provider pass the server's own verifier
 * (server/identity/access-token.ts) configured as docs/identity.md says, and the verifier's
 * refusals still hold against real provider output.
 */

const REDIRECT = 'http://localhost:40100/cb';

let idp: DevIdp;
beforeAll(async () => {
  idp = await startDevIdp({ port: 0 });
});
afterAll(async () => {
  await idp.close();
});

function accessToken(tenantId: string, oid: string, authority?: string): Promise<string> {
  return accessTokenByCodeFlow(idp, { tenantId, oid, clientId: DEMO_CLIENT_ID, redirectUri: REDIRECT, scope: `openid profile offline_access api://${DEMO_CLIENT_ID}/access_as_user`, ...(authority ? { authority } : {}) });
}

function verifierFor(audience: string) {
  const keys = createTenantKeys({ authorityBase: idp.url, fetchJson: createFetchJson({ ca: idp.caCert }), clock: systemClock });
  return createAccessTokenVerifier({ authorityBase: idp.url, audience, scope: 'access_as_user', keys, clock: systemClock });
}

describe('dev provider tokens against the server verifier', () => {
  it('accepts them with the audience configured either as api://<client id> or as the client id', async () => {
    const user = DEMO_TENANTS[0]?.users[1];
    if (!user) throw new Error('no demo user');
    const token = await accessToken(DEMO_CLINIC_TENANT_ID, user.oid);
    for (const audience of [`api://${DEMO_CLIENT_ID}`, DEMO_CLIENT_ID]) {
      await expect(verifierFor(audience).verify(token)).resolves.toEqual({ tenantId: DEMO_CLINIC_TENANT_ID, objectId: user.oid, name: user.name, username: user.email });
    }
    const msp = await accessToken(DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN.oid);
    await expect(verifierFor(DEMO_CLIENT_ID).verify(msp)).resolves.toMatchObject({ tenantId: DEMO_MSP_TENANT_ID, objectId: DEMO_STAFF_ADMIN.oid });
  });

  it('accepts tokens obtained through the organizations authority as their own tenant\'s', async () => {
    const user = DEMO_TENANTS[0]?.users[2];
    if (!user) throw new Error('no demo user');
    const verifier = verifierFor(`api://${DEMO_CLIENT_ID}`);
    await expect(verifier.verify(await accessToken(DEMO_CLINIC_TENANT_ID, user.oid, idp.organizationsAuthority))).resolves.toEqual({ tenantId: DEMO_CLINIC_TENANT_ID, objectId: user.oid, name: user.name, username: user.email });
    await expect(verifier.verify(await accessToken(DEMO_MSP_TENANT_ID, DEMO_STAFF_ADMIN.oid, idp.organizationsAuthority))).resolves.toMatchObject({ tenantId: DEMO_MSP_TENANT_ID, objectId: DEMO_STAFF_ADMIN.oid });
  });

  it('refuses them for another audience, and when the payload is swapped to another tenant', async () => {
    const user = DEMO_TENANTS[0]?.users[0];
    if (!user) throw new Error('no demo user');
    const token = await accessToken(DEMO_CLINIC_TENANT_ID, user.oid);
    await expect(verifierFor('api://00000000-0000-4000-8000-000000000000').verify(token)).rejects.toMatchObject({ reason: 'wrong_audience' });

    const [header = '', payload = '', signature = ''] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const moved = Buffer.from(JSON.stringify({ ...claims, tid: DEMO_MSP_TENANT_ID, iss: idp.issuer(DEMO_MSP_TENANT_ID) })).toString('base64url');
    await expect(verifierFor(DEMO_CLIENT_ID).verify(`${header}.${moved}.${signature}`)).rejects.toMatchObject({ reason: expect.stringMatching(/unknown_key|bad_signature/) });
  });
});
