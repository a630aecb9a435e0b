import { createHash, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { assertReleaseKeyType, ReleaseKeyError, releaseKeyId, signReleaseManifest } from '../../agent/release-signature';
import { ReleaseManifest, ReleaseVersion } from '../../protocol/release';
import { parseCommandArgs, UsageError } from './args';

export const releaseHelp = `Usage: rmm release <keygen|sign> [options]

Signs agent builds (docs/agent.md "Signed agent updates"). Run it on the offline signing machine:
the private key never goes to the server or to an endpoint.

  rmm release keygen --out <dir>
      makes an RSA-2048 release key pair: <dir>/release-private.pem (mode 0600) and
      <dir>/release-public.pem (pinned in agents, RMM_RELEASE_PUBLIC_KEY_FILE on the server),
      and prints the key id (SHA-256 of the public key). Refuses to overwrite either file.
  rmm release sign <bundle> --key <release-private.pem> --version <x.y.z> [--min-version <x.y.z>] [--out <manifest.json>]
      hashes the bundle and writes its signed manifest (default: <bundle>.manifest.json; never
      overwritten). --min-version: the oldest agent version that may update to it (default 0.0.0).

Options:
  -h, --help   show this help
`;

const KEYGEN_FILES = { privateKey: 'release-private.pem', publicKey: 'release-public.pem' } as const;

function parseWith<T>(schema: z.ZodType<T>, values: unknown): T {
  const result = schema.safeParse(values);
  if (!result.success) {
    throw new UsageError(result.error.issues.map((i) =>
      i.code === 'unrecognized_keys' ? `${i.keys.map((k) => `--${k}`).join(', ')}: not an option of this subcommand` : i.path.length ? `--${i.path.join('.')}: ${i.message}` : i.message,
    ).join('; '));
  }
  return result.data;
}

const KeygenArgs = z.object({ out: z.string({ error: 'is required' }).min(1, 'is required') }).strict();
const SignArgs = z
  .object({
    key: z.string({ error: 'is required' }).min(1, 'is required'),
    version: z.string({ error: 'is required' }).pipe(ReleaseVersion),
    'min-version': ReleaseVersion.default('0.0.0'),
    out: z.string().min(1).optional(),
  })
  .strict();

/** Writes `text` to a new file; an existing file is a usage error, never overwritten. */
function writeNewFile(file: string, text: string, mode: number): void {
  try {
    writeFileSync(file, text, { flag: 'wx', mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${file} already exists; not overwriting it`);
    throw new UsageError(`cannot write ${file}: ${(err as Error).message}`);
  }
}

function keygen(args: z.infer<typeof KeygenArgs>): void {
  const dir = path.resolve(args.out);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDir) throw new UsageError(`--out: ${args.out} is not a directory`);
  const privateFile = path.join(dir, KEYGEN_FILES.privateKey);
  const publicFile = path.join(dir, KEYGEN_FILES.publicKey);
  for (const file of [privateFile, publicFile]) {
    try {
      statSync(file);
      throw new UsageError(`${file} already exists; not overwriting it`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  writeNewFile(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  writeNewFile(publicFile, publicKey.export({ type: 'spki', format: 'pem' }).toString(), 0o644);
  process.stdout.write(`${releaseKeyId(publicKey)}\n`);
  process.stderr.write(`wrote ${privateFile} (keep it offline) and ${publicFile}; the key id is printed above\n`);
}

function loadPrivateKey(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--key: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new UsageError(`--key: ${file} is not a PEM private key (an encrypted key is not supported yet)`);
  }
  try {
    assertReleaseKeyType(key, `--key: ${file}`);
  } catch (err) {
    if (err instanceof ReleaseKeyError) throw new UsageError(err.message);
    throw err;
  }
  return key;
}

/** SHA-256 and size of a file, streamed: bundles may be large. */
async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    size += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), size };
}

async function signBundle(bundle: string, args: z.infer<typeof SignArgs>, now: Date): Promise<void> {
  let stats;
  try {
    stats = statSync(bundle);
  } catch {
    throw new UsageError(`bundle ${bundle} does not exist`);
  }
  if (!stats.isFile()) throw new UsageError(`bundle ${bundle} is not a file`);
  if (stats.size === 0) throw new UsageError(`bundle ${bundle} is empty`);
  const out = args.out ?? `${bundle}.manifest.json`;
  // Checked before the work, and again by the exclusive write.
  try {
    statSync(out);
    throw new UsageError(`${out} already exists; not overwriting it`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  const privateKey = loadPrivateKey(args.key);
  const { sha256, size } = await hashFile(bundle);
  const manifest = ReleaseManifest.safeParse({ format: 1, version: args.version, sha256, size, minimumVersion: args['min-version'], createdAt: now.toISOString() });
  if (!manifest.success) throw new UsageError(manifest.error.issues.map((i) => (i.path[0] === 'minimumVersion' ? `--min-version: ${i.message}` : i.message)).join('; '));
  const signed = signReleaseManifest(manifest.data, privateKey);
  writeNewFile(out, `${JSON.stringify(signed, null, 2)}\n`, 0o644);
  process.stdout.write(`${out}\n`);
  process.stderr.write(`signed ${bundle}: version ${manifest.data.version}, ${size} bytes, sha256 ${sha256}, key ${signed.keyId}\n`);
}

export async function releaseCommand(argv: string[], now: () => Date = () => new Date()): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(releaseHelp);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'keygen' && sub !== 'sign') throw new UsageError(`unknown subcommand '${sub}' (keygen, sign)`);
  // The bundle is the one positional of `sign`; parseCommandArgs takes flags only.
  const first = rest[0];
  const bundle = sub === 'sign' && first !== undefined && !first.startsWith('-') ? first : undefined;
  const flags = bundle === undefined ? rest : rest.slice(1);
  const { values } = parseCommandArgs(flags, {
    out: { type: 'string' },
    key: { type: 'string' },
    version: { type: 'string' },
    'min-version': { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(releaseHelp);
    return 0;
  }
  const { help: _h, ...options } = values;
  if (sub === 'keygen') {
    keygen(parseWith(KeygenArgs, options));
    return 0;
  }
  if (bundle === undefined) throw new UsageError('sign needs the bundle file: rmm release sign <bundle> --key <release-private.pem> --version <x.y.z>');
  await signBundle(bundle, parseWith(SignArgs, options), now());
  return 0;
}
