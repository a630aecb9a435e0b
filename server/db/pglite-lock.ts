import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/*
 * PGlite keeps no lock of its own: a second process opening the same data folder would write to
 * it alongside the first and corrupt it. The folder is claimed by a lock file beside it holding
 * the owner's pid; a lock whose process is gone (a crash) is taken over.
 */

export class DatabaseLockedError extends Error {
  constructor(readonly dir: string, readonly pid: number) {
    super(
      `the PGlite database in ${dir} is locked: process ${pid} (a running server?) has it open. ` +
        'PGlite can be opened by one process at a time: stop the server first, or use PostgreSQL (DATABASE_URL). ' +
        `If no such process uses it, delete ${pgliteLockPath(dir)}.`,
    );
    this.name = 'DatabaseLockedError';
  }
}

export function pgliteLockPath(dir: string): string {
  return `${dir}.lock`;
}

/** Folders this process holds: a lock naming our pid but not listed here is from an earlier process with our pid (pid 1 in a restarted container). */
const heldHere = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Claims the folder for this process; returns the release function. Throws DatabaseLockedError. */
export function lockPgliteDir(dir: string): () => void {
  const file = pgliteLockPath(dir);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(file);
      // The same process opening it twice would corrupt it just the same.
      const held = owner === process.pid ? heldHere.has(file) : owner !== undefined && isRunning(owner);
      if (held && owner !== undefined) throw new DatabaseLockedError(dir, owner);
      unlinkSync(file); // stale: its process is gone
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    heldHere.add(file);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      heldHere.delete(file);
      if (readOwner(file) === process.pid) unlinkSync(file);
    };
  }
  throw new DatabaseLockedError(dir, readOwner(file) ?? 0);
}
