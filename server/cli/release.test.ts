import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { SignedManifest } from '../../protocol/release';
import { verifyUpdate } from '../../agent/release-verify';
import { UsageError } from './args';
import { releaseCommand } from './release';

/*
 * `rmm release keygen` and `rmm release sign` in a temp folder: the files they write (and their
 * modes), a manifest the agent accepts, and every refusal with a clear message and no file left.
 */

function captureOutput() {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'rmm-cli-release-'));
const keys = path.join(tmp, 'keys');
mkdirSync(keys);
const bundle = path.join(tmp, 'agent-1.4.0.tgz');
writeFileSync(bundle, Buffer.alloc(300_000, 7));
const now = () => new Date('2026-11-23T12:00:00.000Z');

afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rmm release', () => {
  it('keygen writes the private key with mode 0600 and the public key, prints the key id, and never overwrites', async () => {
    const out = captureOutput();
    expect(await releaseCommand(['keygen', '--out', keys])).toBe(0);
    const privateFile = path.join(keys, 'release-private.pem');
    const publicFile = path.join(keys, 'release-public.pem');
    expect(statSync(privateFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(privateFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const publicPem = readFileSync(publicFile, 'utf8');
    expect(publicPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const keyId = out.stdout().trim();
    expect(keyId).toMatch(/^[0-9a-f]{64}$/);
    const der = Buffer.from(publicPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    expect(createHash('sha256').update(der).digest('hex')).toBe(keyId);

    const before = readFileSync(privateFile, 'utf8');
    await expect(releaseCommand(['keygen', '--out', keys])).rejects.toThrow(/release-private\.pem already exists/);
    expect(readFileSync(privateFile, 'utf8')).toBe(before);
  });

  it('sign writes a manifest the agent accepts: hash and size of the bundle, versions, the key id', async () => {
    const out = captureOutput();
    const manifestFile = path.join(tmp, 'manifest.json');
    expect(await releaseCommand(['sign', bundle, '--key', path.join(keys, 'release-private.pem'), '--version', '1.4.0', '--min-version', '1.2.0', '--out', manifestFile], now)).toBe(0);
    const signed = SignedManifest.parse(JSON.parse(readFileSync(manifestFile, 'utf8')));
    const bytes = readFileSync(bundle);
    expect(signed.manifest).toEqual({ format: 1, version: '1.4.0', sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, minimumVersion: '1.2.0', createdAt: '2026-11-23T12:00:00.000Z' });
    expect(out.stdout()).toBe(`${manifestFile}\n`);
    expect(out.stderr()).toContain(`key ${signed.keyId}`);

    const pinnedPublicKeyPem = readFileSync(path.join(keys, 'release-public.pem'), 'utf8');
    const verdict = await verifyUpdate({ signed, bundlePath: bundle, pinnedPublicKeyPem, trustedHashes: [signed.manifest.sha256], currentVersion: '1.3.0' });
    expect(verdict.ok).toBe(true);

    // Default output next to the bundle, minimum 0.0.0; never overwritten.
    expect(await releaseCommand(['sign', bundle, '--key', path.join(keys, 'release-private.pem'), '--version', '1.4.0'], now)).toBe(0);
    const defaultFile = `${bundle}.manifest.json`;
    expect(SignedManifest.parse(JSON.parse(readFileSync(defaultFile, 'utf8'))).manifest.minimumVersion).toBe('0.0.0');
    await expect(releaseCommand(['sign', bundle, '--key', path.join(keys, 'release-private.pem'), '--version', '1.4.1'], now)).rejects.toThrow(/manifest\.json already exists/);
  });

  it('sign refuses bad input with a usage error and writes nothing', async () => {
    const key = path.join(keys, 'release-private.pem');
    const out = (name: string) => path.join(tmp, `${name}.json`);
    const ecKey = path.join(tmp, 'ec.pem');
    writeFileSync(ecKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const smallKey = path.join(tmp, 'small.pem');
    writeFileSync(smallKey, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const empty = path.join(tmp, 'empty.tgz');
    writeFileSync(empty, '');
    const cases: Array<[string[], RegExp]> = [
      [['sign', bundle, '--key', key, '--version', '1.4', '--out', out('a')], /--version: must be a version x\.y\.z/],
      [['sign', bundle, '--key', key, '--version', 'v1.4.0', '--out', out('b')], /--version: must be a version x\.y\.z/],
      [['sign', bundle, '--key', key, '--out', out('c')], /--version: is required/],
      [['sign', bundle, '--version', '1.4.0', '--out', out('d')], /--key: is required/],
      [['sign', bundle, '--key', key, '--version', '1.4.0', '--min-version', '1.5.0', '--out', out('e')], /--min-version: minimumVersion must not be above version/],
      [['sign', bundle, '--key', key, '--version', '1.4.0', '--bogus', '--out', out('f')], /Unknown option '--bogus'/],
      [['sign', '--key', key, '--version', '1.4.0', '--out', out('g')], /needs the bundle file/],
      [['sign', path.join(tmp, 'missing.tgz'), '--key', key, '--version', '1.4.0', '--out', out('h')], /missing\.tgz does not exist/],
      [['sign', empty, '--key', key, '--version', '1.4.0', '--out', out('i')], /is empty/],
      [['sign', bundle, '--key', path.join(tmp, 'nokey.pem'), '--version', '1.4.0', '--out', out('j')], /--key: cannot read .*ENOENT/],
      [['sign', bundle, '--key', bundle, '--version', '1.4.0', '--out', out('k')], /is not a PEM private key/],
      [['sign', bundle, '--key', path.join(keys, 'release-public.pem'), '--version', '1.4.0', '--out', out('l')], /is not a PEM private key/],
      [['sign', bundle, '--key', ecKey, '--version', '1.4.0', '--out', out('m')], /ec key, not an RSA key/],
      [['sign', bundle, '--key', smallKey, '--version', '1.4.0', '--out', out('n')], /1024 bits/],
      [['keygen'], /--out: is required/],
      [['keygen', '--out', path.join(tmp, 'nowhere')], /is not a directory/],
      [['keygen', '--out', keys, '--version', '1.0.0'], /--version: not an option of this subcommand/],
      [['publish'], /unknown subcommand 'publish'/],
    ];
    for (const [argv, message] of cases) {
      const error = await releaseCommand(argv, now).then(() => undefined, (err: unknown) => err);
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message, argv.join(' ')).toMatch(message);
    }
    for (const name of 'abcdefghijklmn') expect(() => statSync(out(name)), name).toThrow(/ENOENT/);
  });

  it('is wired into the rmm dispatcher: a usage error exits 2 with the message, help exits 0', async () => {
    const out = captureOutput();
    expect(await main(['release', 'sign', bundle, '--version', '1.0', '--key', 'x'])).toBe(2);
    expect(out.stderr()).toContain("rmm release: --version: must be a version x.y.z");
    expect(await main(['release', '--help'])).toBe(0);
    expect(out.stdout()).toContain('rmm release keygen --out <dir>');
    expect(await main(['--help'])).toBe(0);
    expect(out.stdout()).toMatch(/release +make the release signing key/);
  });
});
