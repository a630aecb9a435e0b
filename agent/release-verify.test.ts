import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReleaseManifest, SignedManifest } from '../protocol/release';
import { releaseKeyId, signReleaseManifest, verifyManifestSignature } from './release-signature';
import { verifyUpdate, type VerifyUpdateInput } from './release-verify';

/*
 * The agent's update gate: the good case, and each refusal reason on its own, with everything
 * else about the update left valid so the reason named is the one that decided.
 */

const pair = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits });
const release = pair();
const other = pair();
const pinnedPublicKeyPem = release.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const bundle = Buffer.from('agent build 1.2.0\n'.repeat(1000));
const sha256 = createHash('sha256').update(bundle).digest('hex');
const manifest: ReleaseManifest = { format: 1, version: '1.2.0', sha256, size: bundle.length, minimumVersion: '1.0.0', createdAt: '2026-11-23T12:00:00.000Z' };
const signed = signReleaseManifest(manifest, release.privateKey);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'rmm-release-verify-'));
const bundlePath = path.join(tmp, 'agent-1.2.0.tgz');
writeFileSync(bundlePath, bundle);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const input = (overrides: Partial<VerifyUpdateInput> = {}): VerifyUpdateInput => ({
  signed,
  bytes: bundle,
  pinnedPublicKeyPem,
  trustedHashes: [sha256],
  currentVersion: '1.1.9',
  ...overrides,
});
const resign = (changes: Partial<ReleaseManifest>, key: KeyObject = release.privateKey): SignedManifest => signReleaseManifest({ ...manifest, ...changes }, key);

describe('verifyUpdate', () => {
  it('accepts a newer build signed by the pinned key, in the registry, matching the bundle (bytes or a file)', async () => {
    expect(await verifyUpdate(input())).toEqual({ ok: true, manifest });
    expect(await verifyUpdate(input({ bytes: undefined, bundlePath }))).toEqual({ ok: true, manifest });
    // Exactly at the minimum version is allowed; the registry may hold others and upper-case hex.
    expect((await verifyUpdate(input({ currentVersion: '1.0.0', trustedHashes: ['0'.repeat(64), sha256.toUpperCase()] }))).ok).toBe(true);
  });

  it('bad_signature: a manifest signed by another key, even one naming the pinned key id', async () => {
    const byOther = resign({}, other.privateKey);
    expect(await verifyUpdate(input({ signed: byOther }))).toMatchObject({ ok: false, reason: 'bad_signature' });
    const claimingPinned = { ...byOther, keyId: releaseKeyId(release.publicKey) };
    expect(await verifyUpdate(input({ signed: claimingPinned }))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('bad_signature: a tampered manifest (a higher version, another hash, a lower minimum) or signature', async () => {
    for (const change of [{ version: '9.9.9' }, { sha256: 'f'.repeat(64) }, { minimumVersion: '0.0.0' }, { size: bundle.length + 1 }]) {
      const tampered = { ...signed, manifest: { ...signed.manifest, ...change } };
      expect(await verifyUpdate(input({ signed: tampered })), JSON.stringify(change)).toMatchObject({ ok: false, reason: 'bad_signature' });
    }
    const flipped = Buffer.from(signed.signature, 'base64');
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(await verifyUpdate(input({ signed: { ...signed, signature: flipped.toString('base64') } }))).toMatchObject({ ok: false, reason: 'bad_signature' });
    // A signature too short for the key: refused, not thrown.
    expect(await verifyUpdate(input({ signed: { ...signed, signature: 'AAAA' } }))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('unknown_hash: a validly signed build the server does not trust', async () => {
    expect(await verifyUpdate(input({ trustedHashes: [] }))).toMatchObject({ ok: false, reason: 'unknown_hash' });
    expect(await verifyUpdate(input({ trustedHashes: ['a'.repeat(64)] }))).toMatchObject({ ok: false, reason: 'unknown_hash' });
  });

  it('size_mismatch and hash_mismatch: a bundle other than the one signed', async () => {
    expect(await verifyUpdate(input({ bytes: bundle.subarray(1) }))).toMatchObject({ ok: false, reason: 'size_mismatch' });
    const swapped = Buffer.from(bundle);
    swapped[0] = (swapped[0] ?? 0) ^ 1;
    expect(await verifyUpdate(input({ bytes: swapped }))).toMatchObject({ ok: false, reason: 'hash_mismatch' });
    const swappedFile = path.join(tmp, 'swapped.tgz');
    writeFileSync(swappedFile, swapped);
    expect(await verifyUpdate(input({ bytes: undefined, bundlePath: swappedFile }))).toMatchObject({ ok: false, reason: 'hash_mismatch' });
  });

  it('not_newer: the same or a lower version is never applied (no downgrade)', async () => {
    for (const currentVersion of ['1.2.0', '1.2.1', '1.10.0', '2.0.0']) {
      expect(await verifyUpdate(input({ currentVersion })), currentVersion).toMatchObject({ ok: false, reason: 'not_newer' });
    }
    // Numeric, not string order: 1.10.0 is newer than 1.9.0.
    const tenth = resign({ version: '1.10.0' });
    expect((await verifyUpdate(input({ signed: tenth, currentVersion: '1.9.0' }))).ok).toBe(true);
  });

  it('below_minimum: an agent older than the release allows', async () => {
    expect(await verifyUpdate(input({ currentVersion: '0.9.9' }))).toMatchObject({ ok: false, reason: 'below_minimum' });
  });

  it('malformed: anything that is not a signed manifest', async () => {
    for (const bad of [null, 'x', {}, { ...signed, extra: 1 }, { ...signed, keyId: 'abc' }, { ...signed, manifest: { ...manifest, format: 2 } }, { ...signed, manifest: { ...manifest, version: '1.2' } }, { ...signed, manifest: { ...manifest, minimumVersion: '2.0.0' } }]) {
      expect(await verifyUpdate(input({ signed: bad })), JSON.stringify(bad)).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('the agent’s own configuration errors throw instead of refusing: a bad pinned key, version or bundle choice', async () => {
    await expect(verifyUpdate(input({ pinnedPublicKeyPem: 'not a key' }))).rejects.toThrow(/not a PEM public key/);
    const privatePem = release.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(verifyUpdate(input({ pinnedPublicKeyPem: privatePem }))).rejects.toThrow(/private key/);
    const small = pair(1024).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(verifyUpdate(input({ pinnedPublicKeyPem: small }))).rejects.toThrow(/1024 bits/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(verifyUpdate(input({ pinnedPublicKeyPem: ec }))).rejects.toThrow(/not an RSA key/);
    await expect(verifyUpdate(input({ currentVersion: 'v1' }))).rejects.toThrow(/currentVersion/);
    await expect(verifyUpdate(input({ bundlePath }))).rejects.toThrow(/exactly one/);
  });

  it('the signature covers the canonical bytes: key order in the received JSON does not matter', () => {
    const reordered = JSON.parse(JSON.stringify({ keyId: signed.keyId, signature: signed.signature, manifest: Object.fromEntries(Object.entries(manifest).reverse()) })) as SignedManifest;
    expect(verifyManifestSignature(reordered, release.publicKey)).toBe(true);
  });
});
