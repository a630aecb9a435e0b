import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keychainReachable, runKeytarChecks } from './test-support/keytar-checks';

/*
 * keytar for real. Under `.ci/run` (and `npm test` started inside a D-Bus session with an unlocked
 * keyring) the checks run in this process. Without a reachable Secret Service they run in a child
 * process with its own D-Bus session and a throwaway gnome-keyring, unlocked with a throwaway
 * password, in a temporary XDG_DATA_HOME. Only when dbus-run-session or gnome-keyring-daemon is
 * missing altogether are they skipped, loudly.
 */

const CHECKS = fileURLToPath(new URL('./test-support/keytar-checks.ts', import.meta.url));
const EXPECTED = [
  'missing → null',
  'set → get round trip (base64 and non-ASCII)',
  'set replaces; accounts and services are separate',
  'delete → gone; deleting again → false',
  'token cache key kept in the keychain; cache reads back',
];

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function runUnderPrivateDbus(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const xdg = mkdtempSync(path.join(os.tmpdir(), 'rmm-keyring-'));
  const script = 'mkdir -p "$XDG_DATA_HOME/keyrings" && eval "$(printf "test-keyring\\n" | gnome-keyring-daemon --unlock --components=secrets)" >/dev/null && export GNOME_KEYRING_CONTROL && exec "$0" --import tsx "$1"';
  return new Promise((resolve, reject) => {
    const child = spawn('dbus-run-session', ['--', 'sh', '-c', script, process.execPath, CHECKS], {
      env: { ...process.env, XDG_DATA_HOME: xdg, DBUS_SESSION_BUS_ADDRESS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(xdg, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

const probe = await keychainReachable();
const canStartOwn = has('dbus-run-session') && has('gnome-keyring-daemon');
if (!probe.reachable && !canStartOwn) {
  console.warn(`\n*** keytar SecretStore tests SKIPPED: no Secret Service reachable (${probe.reason}) and dbus-run-session or gnome-keyring-daemon is not installed (apt: dbus gnome-keyring). ***\n`);
}

describe('keytar SecretStore against a real Secret Service', () => {
  it.runIf(probe.reachable)('round trip, replace, delete and the token cache key, in this process', async () => {
    expect(await runKeytarChecks()).toEqual(EXPECTED);
  });

  it.runIf(!probe.reachable && canStartOwn)('round trip, replace, delete and the token cache key, under a private dbus-run-session with gnome-keyring', async () => {
    const { code, stdout, stderr } = await runUnderPrivateDbus();
    const last = stdout.trim().split('\n').pop() ?? '';
    expect({ code, last }, stderr).toEqual({ code: 0, last: JSON.stringify({ passed: EXPECTED }) });
  });

  it.skipIf(probe.reachable || canStartOwn)('is skipped: no Secret Service and no dbus-run-session/gnome-keyring-daemon (see the warning above)', () => undefined);
});
