import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateMasterKey, MASTER_KEY_FILE, parseMasterKey } from './master-key';

describe('master key', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-master-key-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/master.key with mode 0600 on first start and reads it back after', () => {
    const dataDir = tempDir();
    const first = loadOrCreateMasterKey({ dataDir });
    expect(first).toHaveLength(32);
    const file = path.join(dataDir, MASTER_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString('base64'));
    expect(loadOrCreateMasterKey({ dataDir }).equals(first)).toBe(true);
  });

  it('prefers RMM_MASTER_KEY and writes no file then', () => {
    const dataDir = tempDir();
    const given = Buffer.alloc(32, 9);
    expect(loadOrCreateMasterKey({ dataDir, masterKey: given.toString('base64') }).equals(given)).toBe(true);
    expect(() => statSync(path.join(dataDir, MASTER_KEY_FILE))).toThrow();
  });

  it('refuses a key that is not base64 of exactly 32 bytes', () => {
    expect(() => parseMasterKey(Buffer.alloc(16).toString('base64'), 'RMM_MASTER_KEY')).toThrow(/32 bytes, got 16/);
    expect(() => parseMasterKey('not base64!', 'RMM_MASTER_KEY')).toThrow(/not base64/);
  });
});
