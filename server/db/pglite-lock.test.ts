import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseLockedError, lockPgliteDir, pgliteLockPath } from './pglite-lock';

describe('the PGlite data folder lock', () => {
  const dirs: string[] = [];
  const folder = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-lock-'));
    dirs.push(dir);
    return path.join(dir, 'pglite');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('lets one holder in at a time, the same process included, until it releases', () => {
    const dir = folder();
    const release = lockPgliteDir(dir);
    expect(readFileSync(pgliteLockPath(dir), 'utf8').trim()).toBe(String(process.pid));
    expect(() => lockPgliteDir(dir)).toThrow(DatabaseLockedError);
    expect(() => lockPgliteDir(dir)).toThrow(/stop the server first/);
    release();
    expect(existsSync(pgliteLockPath(dir))).toBe(false);
    lockPgliteDir(dir)();
  });

  it('refuses a folder another live process holds, naming it', () => {
    const dir = folder();
    writeFileSync(pgliteLockPath(dir), `${process.ppid}\n`);
    expect(() => lockPgliteDir(dir)).toThrow(new RegExp(`process ${process.ppid}`));
  });

  it('takes over a lock left by a process that is gone, or by an earlier process with our pid', () => {
    const dir = folder();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(pgliteLockPath(dir), `${gone}\n`);
    lockPgliteDir(dir)();
    writeFileSync(pgliteLockPath(dir), `${process.pid}\n`);
    const release = lockPgliteDir(dir);
    expect(readFileSync(pgliteLockPath(dir), 'utf8').trim()).toBe(String(process.pid));
    release();
  });
});
