import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/*
 * The master key every secret at rest is derived from: RMM_MASTER_KEY (base64 of 32 bytes, e.g.
 * from a secrets manager) when set, else `<dataDir>/master.key`, created with mode 0600 on first
 * start. Losing it makes sealed secrets (TOTP) unreadable: back it up apart from the database.
 */

export const MASTER_KEY_FILE = 'master.key';

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

/** Decodes a base64 master key; refuses anything but exactly 32 bytes. */
export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new MasterKeyError(`${where}: not base64`);
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${where}: must decode to 32 bytes, got ${key.length}`);
  return key;
}

export function loadOrCreateMasterKey(options: { masterKey?: string | undefined; dataDir: string }, random: (n: number) => Buffer = randomBytes): Buffer {
  if (options.masterKey) return parseMasterKey(options.masterKey, 'RMM_MASTER_KEY');
  const file = path.join(options.dataDir, MASTER_KEY_FILE);
  if (existsSync(file)) return parseMasterKey(readFileSync(file, 'utf8'), file);
  const key = random(32);
  try {
    // 'wx': never overwrite a key another process just wrote; use theirs instead.
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return parseMasterKey(readFileSync(file, 'utf8'), file);
    throw err;
  }
  chmodSync(file, 0o600);
  return key;
}
