import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signReleaseManifest } from '../../agent/release-signature';
import { verifyUpdate } from '../../agent/release-verify';
import { ErrorBody } from '../../protocol/errors';
import { TrustedBuild, TrustedBuildList, type ReleaseManifest } from '../../protocol/release';
import { databaseKinds } from '../../tools/testing/postgres';
import { loadServerConfig } from '../config';
import { StartupError, startServer } from '../server';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';

/*
 * The trusted-build registry over HTTP on both databases: only MSP admins, only with a
 * releases.trust proof, only builds signed by the configured release key, each build once,
 * every attempt in the platform audit chain.
 */

const release = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'rmm-releases-'));
const publicKeyFile = path.join(tmp, 'release-public.pem');
writeFileSync(publicKeyFile, release.publicKey.export({ type: 'spki', format: 'pem' }));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let builds = 0;
function manifestOf(version: string): { manifest: ReleaseManifest; bundle: Buffer } {
  const bundle = Buffer.from(`agent ${version} build ${++builds}`);
  return { bundle, manifest: { format: 1, version, sha256: createHash('sha256').update(bundle).digest('hex'), size: bundle.length, minimumVersion: '0.1.0', createdAt: new Date().toISOString() } };
}
const code = (res: TestResponse) => ErrorBody.parse(res.json()).error.code;

describe.each(databaseKinds())('trusted-build registry on %s', (kind) => {
  let t: TestServer;
  let admin: { userId: string; token: string };
  const trust = async (body: unknown, token = admin.token, proof: string | null = null) =>
    t.request('/api/releases/trusted', { method: 'POST', token, body, headers: proof === null ? {} : { 'X-Step-Up': proof } });
  const trustWithProof = async (body: unknown, token = admin.token) => trust(body, token, await t.stepUp(token, 'releases.trust'));
  const auditOf = (sha256: string) =>
    t.database.ownerQuery("SELECT org_id, outcome, actor_id, details FROM audit_log WHERE action = 'release.trusted' AND target_id = $1 ORDER BY seq", [sha256]);
  /** Refused and failed calls are recorded by the route layer, without a target (the build is not trusted, so not named). */
  const outcomes = async (outcome: 'failed' | 'denied') =>
    (await t.database.ownerQuery("SELECT org_id FROM audit_log WHERE action = 'release.trusted' AND actor_id = $1 AND outcome = $2", [admin.userId, outcome])).map((r) => r.org_id);

  beforeAll(async () => {
    t = await getTestServer(kind, { releasePublicKeyFile: publicKeyFile });
    admin = await t.buildUser({ orgId: null, platformAdmin: true, name: 'Rel Admin' });
  });
  afterAll(async () => t?.close());

  it('an MSP admin with a releases.trust proof adds a signed build: listed, audited in the platform chain, and accepted by an agent', async () => {
    const { manifest, bundle } = manifestOf('0.2.0');
    const signed = signReleaseManifest(manifest, release.privateKey);
    const res = await trustWithProof(signed);
    expect(res.status, res.text).toBe(200);
    const build = TrustedBuild.parse(res.json());
    expect(build).toMatchObject({ sha256: manifest.sha256, version: '0.2.0', size: manifest.size, keyId: signed.keyId, signed, addedBy: admin.userId });

    const listed = await t.request('/api/releases/trusted', { token: admin.token });
    expect(listed.status).toBe(200);
    const { builds: list } = TrustedBuildList.parse(listed.json());
    expect(list.map((b) => b.sha256)).toContain(manifest.sha256);

    expect(await auditOf(manifest.sha256)).toEqual([
      { org_id: null, outcome: 'success', actor_id: admin.userId, details: { version: '0.2.0', sha256: manifest.sha256, size: manifest.size, keyId: signed.keyId } },
    ]);
    // What the registry hands out is what the agent's gate accepts.
    const verdict = await verifyUpdate({ signed: build.signed, bytes: bundle, pinnedPublicKeyPem: release.publicKey.export({ type: 'spki', format: 'pem' }).toString(), trustedHashes: list.map((b) => b.sha256), currentVersion: '0.1.0' });
    expect(verdict.ok).toBe(true);
  });

  it('the same build again is 409 conflict, recorded as failed', async () => {
    const signed = signReleaseManifest(manifestOf('0.3.0').manifest, release.privateKey);
    expect((await trustWithProof(signed)).status).toBe(200);
    const failedBefore = (await outcomes('failed')).length;
    const again = await trustWithProof(signed);
    expect(again.status).toBe(409);
    expect(code(again)).toBe('conflict');
    expect((await auditOf(signed.manifest.sha256)).map((e) => e.outcome)).toEqual(['success']);
    expect((await outcomes('failed')).slice(failedBefore)).toEqual([null]);
  });

  it('a manifest not signed by the configured key is 400 release_signature_invalid: another key, a tampered manifest, a forged key id', async () => {
    const { manifest } = manifestOf('0.4.0');
    const failedBefore = (await outcomes('failed')).length;
    const byOther = signReleaseManifest(manifest, other.privateKey);
    const good = signReleaseManifest(manifest, release.privateKey);
    for (const body of [byOther, { ...byOther, keyId: good.keyId }, { ...good, manifest: { ...manifest, version: '9.0.0' } }]) {
      const res = await trustWithProof(body);
      expect(res.status, res.text).toBe(400);
      expect(code(res)).toBe('release_signature_invalid');
    }
    expect((await outcomes('failed')).slice(failedBefore)).toEqual([null, null, null]);
    expect(await auditOf(manifest.sha256)).toEqual([]);
    const listed = TrustedBuildList.parse((await t.request('/api/releases/trusted', { token: admin.token })).json());
    expect(listed.builds.map((b) => b.sha256)).not.toContain(manifest.sha256);
  });

  it('a body that is not a signed manifest is 400 validation_failed', async () => {
    const signed = signReleaseManifest(manifestOf('0.5.0').manifest, release.privateKey);
    for (const body of [{}, { ...signed, manifest: { ...signed.manifest, version: '1.0' } }, { ...signed, extra: true }]) {
      const res = await trustWithProof(body);
      expect(res.status, res.text).toBe(400);
      expect(code(res)).toBe('validation_failed');
    }
  });

  it('without a proof, or with a proof for another action, an MSP admin is refused 403 and it is recorded as denied', async () => {
    const signed = signReleaseManifest(manifestOf('0.6.0').manifest, release.privateKey);
    const none = await trust(signed);
    expect(none.status).toBe(403);
    expect(code(none)).toBe('step_up_required');
    const wrong = await trust(signed, admin.token, await t.stepUp(admin.token, 'audit.export'));
    expect(wrong.status).toBe(403);
    expect(code(wrong)).toBe('step_up_invalid');
    expect(await outcomes('denied')).toEqual([null, null]);
  });

  it('staff who are not admins, and members of client orgs even as tenant admins, get 403 forbidden on both routes', async () => {
    const org = await t.buildOrg('Release Clinic');
    const staff = await t.buildUser({ orgId: null });
    const tenantAdmin = await t.buildUser({ orgId: org.id, role: 'tenant_admin' });
    const signed = signReleaseManifest(manifestOf('0.7.0').manifest, release.privateKey);
    for (const user of [staff, tenantAdmin]) {
      const listed = await t.request('/api/releases/trusted', { token: user.token });
      expect(listed.status).toBe(403);
      expect(code(listed)).toBe('forbidden');
      const added = await trust(signed, user.token);
      expect(added.status).toBe(403);
      expect(code(added)).toBe('forbidden');
    }
    expect((await auditOf(signed.manifest.sha256)).length).toBe(0);
    expect((await t.request('/api/releases/trusted', { token: null })).status).toBe(401);
  });

  it('the registry is invisible inside any org, even to the app role with raw SQL', async () => {
    const org = await t.buildOrg('Nosy Clinic');
    const { withOrg } = await import('../db/database');
    const { sql } = await import('kysely');
    const seen = await withOrg(t.database.db, org.id, (tx) => sql<{ n: number }>`SELECT count(*)::int AS n FROM trusted_builds`.execute(tx));
    expect(seen.rows[0]?.n).toBe(0);
    await expect(withOrg(t.database.db, org.id, (tx) =>
      sql`INSERT INTO trusted_builds (sha256, version, size, key_id, manifest, added_by, added_at) VALUES (${'e'.repeat(64)}, '1.0.0', 1, ${'e'.repeat(64)}, '{}', ${admin.userId}, now())`.execute(tx),
    )).rejects.toThrow(/row-level security/);
  });
});

describe('a server without a release key', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await getTestServer('pglite');
  });
  afterAll(async () => t?.close());

  it('refuses to trust any build with 409 release_key_not_configured, and still lists the (empty) registry', async () => {
    const admin = await t.buildUser({ orgId: null, platformAdmin: true });
    const signed = signReleaseManifest(manifestOf('1.0.0').manifest, release.privateKey);
    const res = await t.request('/api/releases/trusted', { method: 'POST', token: admin.token, body: signed, headers: { 'X-Step-Up': await t.stepUp(admin.token, 'releases.trust') } });
    expect(res.status, res.text).toBe(409);
    expect(code(res)).toBe('release_key_not_configured');
    const listed = await t.request('/api/releases/trusted', { token: admin.token });
    expect(TrustedBuildList.parse(listed.json())).toEqual({ builds: [] });
  });

  it('does not start with a release key file that is missing, private, or not an RSA-2048+ key', async () => {
    const privateFile = path.join(tmp, 'release-private.pem');
    writeFileSync(privateFile, release.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const ecFile = path.join(tmp, 'ec-public.pem');
    writeFileSync(ecFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    const config = loadServerConfig({}, { RMM_PORT: '0', RMM_DATA_DIR: path.join(tmp, 'data'), RMM_LOG_LEVEL: 'silent' });
    for (const [file, message] of [[path.join(tmp, 'missing.pem'), /ENOENT/], [privateFile, /private key/], [ecFile, /not an RSA key/]] as const) {
      await expect(startServer({ ...config, releasePublicKeyFile: file })).rejects.toThrow(StartupError);
      await expect(startServer({ ...config, releasePublicKeyFile: file })).rejects.toThrow(message);
    }
    expect(loadServerConfig({}, { RMM_RELEASE_PUBLIC_KEY_FILE: publicKeyFile }).releasePublicKeyFile).toBe(publicKeyFile);
  });
});
