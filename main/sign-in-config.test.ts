import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySecretStore } from './secret-store';
import { createTrustResolver } from './server-trust';
import { loadSignInConfig, parseSignInConfig } from './sign-in-config';
import { startSignInService } from './sign-in-setup';

const CLIENT = '5E1F0000-0000-4000-8000-000000000A01';

describe('sign-in configuration', () => {
  it('production: Entra authority, default scope, no known authorities (MSAL validates Microsoft itself)', () => {
    expect(parseSignInConfig({ authority: 'https://login.microsoftonline.com/organizations/', clientId: CLIENT })).toEqual({
      authority: 'https://login.microsoftonline.com/organizations',
      clientId: CLIENT.toLowerCase(),
      scopes: [`api://${CLIENT.toLowerCase()}/access_as_user`],
      knownAuthorities: [],
    });
  });

  it('dev provider: its host is a known authority, the CA file is kept, scopes may be given', () => {
    expect(parseSignInConfig({ authority: 'https://127.0.0.1:8444/d3e0c1a1-0000-4000-8000-000000000001/v2.0', clientId: CLIENT, caFile: '/x/ca.pem', scopes: ['api://x/a', 'api://x/b'] })).toMatchObject({
      knownAuthorities: ['127.0.0.1:8444'],
      caFile: '/x/ca.pem',
      scopes: ['api://x/a', 'api://x/b'],
    });
  });

  it.each([
    ['an http authority', { authority: 'http://127.0.0.1:8444/t/v2.0', clientId: CLIENT }, /authority/],
    ['an authority without a tenant path', { authority: 'https://login.microsoftonline.com', clientId: CLIENT }, /tenant path/],
    ['an authority with a query', { authority: 'https://login.microsoftonline.com/common?x=1', clientId: CLIENT }, /query/],
    ['an authority with credentials', { authority: 'https://u:p@login.microsoftonline.com/common', clientId: CLIENT }, /credentials/],
    ['a client id that is not a GUID', { authority: 'https://login.microsoftonline.com/common', clientId: 'console' }, /clientId: must be a GUID/],
    ['an empty scope list', { authority: 'https://login.microsoftonline.com/common', clientId: CLIENT, scopes: [] }, /scopes/],
    ['a scope with a space', { authority: 'https://login.microsoftonline.com/common', clientId: CLIENT, scopes: ['a b'] }, /scopes/],
    ['an unknown field', { authority: 'https://login.microsoftonline.com/common', clientId: CLIENT, secret: 'x' }, /unrecognized/i],
  ])('refuses %s', (_name, input, message) => {
    expect(() => parseSignInConfig(input)).toThrow(message);
  });

  it('reads RMM_SIGN_IN_* from the environment; absent authority means sign-in is not configured', () => {
    expect(loadSignInConfig({})).toBeUndefined();
    expect(loadSignInConfig({ RMM_SIGN_IN_AUTHORITY: 'https://127.0.0.1:8444/t/v2.0', RMM_SIGN_IN_CLIENT_ID: CLIENT, RMM_SIGN_IN_SCOPES: ' api://a/x  api://a/y ', RMM_SIGN_IN_CA_FILE: '/ca.pem' })).toEqual({
      authority: 'https://127.0.0.1:8444/t/v2.0',
      clientId: CLIENT.toLowerCase(),
      scopes: ['api://a/x', 'api://a/y'],
      knownAuthorities: ['127.0.0.1:8444'],
      caFile: '/ca.pem',
    });
    expect(() => loadSignInConfig({ RMM_SIGN_IN_AUTHORITY: 'https://127.0.0.1:8444/t/v2.0' })).toThrow(/clientId/);
  });

  it('starting the service refuses a CA file that is missing or not a certificate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-sign-in-config-'));
    try {
      const serverUrl = new URL('https://127.0.0.1:1');
      const start = (caFile: string) =>
        startSignInService({
          config: parseSignInConfig({ authority: 'https://127.0.0.1:8444/t/v2.0', clientId: CLIENT, caFile }),
          serverUrl,
          trust: createTrustResolver({ kind: 'ca', caPem: 'unused' }, serverUrl),
          cacheFile: path.join(dir, 'cache.bin'),
          openBrowser: async () => undefined,
          secrets: memorySecretStore(),
        });
      await expect(start(path.join(dir, 'missing.pem'))).rejects.toMatchObject({ code: 'bad_request' });
      writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate');
      await expect(start(path.join(dir, 'junk.pem'))).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/no PEM certificate/) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
