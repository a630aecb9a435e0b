import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadConsoleConfig } from '../../main/console-config';
import { UsageError } from '../../server/cli/args';
import { DEMO_CLIENT_ID, DEMO_TENANTS } from '../idp/tenants';
import { demoCommand, demoConsoleEnv } from './demo';

/* `rmm demo` options that are refused before anything starts (the run itself: tools/demo/identity.test.ts and e2e). */

describe('rmm demo options', () => {
  it('refuses a bad --idp-port or --as before starting anything', async () => {
    for (const value of ['x', '-1', '70000', '8444.5']) {
      await expect(demoCommand(['--idp-port', value]), value).rejects.toThrow(UsageError);
    }
    await expect(demoCommand(['--as', 'overlord'])).rejects.toThrow(/--as: 'overlord' is not a role \(.*\) nor 'operator'/);
  });

  it('documents the identity provider in --help', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    try {
      expect(await demoCommand(['--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(out).toContain('--idp-port <n>');
    expect(out).toContain('dev identity provider');
    expect(out).toContain('"Sign in with Microsoft", then pick any demo user');
    expect(out).toContain("--as <who>             no sign-in (automation)");
  });
});

describe('the console npm start configures', () => {
  const server = { url: 'https://127.0.0.1:8443', fingerprint: 'sha256:00' };
  const idp = { url: 'https://127.0.0.1:8444', organizationsAuthority: 'https://127.0.0.1:8444/organizations/v2.0', caCertFile: '/data/idp/tls/server-cert.pem', tenants: DEMO_TENANTS };

  it('signs in with Azure AD through the dev provider\'s organizations authority by default', () => {
    const env = demoConsoleEnv(server, '/data', { kind: 'sign-in', idp });
    expect(env).toEqual({
      RMM_SERVER_URL: server.url,
      RMM_SERVER_FINGERPRINT: server.fingerprint,
      RMM_EXPORT_DIR: path.join('/data', 'exports'),
      RMM_SIGN_IN_AUTHORITY: idp.organizationsAuthority,
      RMM_SIGN_IN_CLIENT_ID: DEMO_CLIENT_ID,
      RMM_SIGN_IN_CA_FILE: idp.caCertFile,
      RMM_SIGN_IN_CACHE_FILE: path.join('/data', 'console', 'msal-cache.bin'),
    });
    expect(loadConsoleConfig(env)).toMatchObject({ signIn: { authority: idp.organizationsAuthority, clientId: DEMO_CLIENT_ID, knownAuthorities: ['127.0.0.1:8444'], caFile: idp.caCertFile } });
  });

  it('presents an API token file, without sign-in, with --as', () => {
    const env = demoConsoleEnv(server, '/data', { kind: 'token', tokenFile: '/data/demo-users/viewer.token', who: 'Vera Viewer' });
    expect(env).toEqual({ RMM_SERVER_URL: server.url, RMM_SERVER_FINGERPRINT: server.fingerprint, RMM_EXPORT_DIR: path.join('/data', 'exports'), RMM_TOKEN_FILE: '/data/demo-users/viewer.token' });
    const config = loadConsoleConfig(env);
    expect(config.signIn).toBeUndefined();
    expect(config.tokenFile).toBe('/data/demo-users/viewer.token');
  });
});
