import { describe, expect, it } from 'vitest';
import { backoffDelay, consoleFeedUrl } from './console-feed';
import { loadConsoleConfig } from './console-config';
import { normalizeFingerprint } from './server-trust';

describe('console configuration', () => {
  const base = { RMM_SERVER_URL: 'https://127.0.0.1:8443', RMM_OPERATOR_TOKEN_FILE: '/run/rmm/token' };

  it('reads the server URL, one trust source and the token file', () => {
    const config = loadConsoleConfig({ ...base, RMM_CA_FILE: '/etc/rmm/ca.pem' });
    expect(config.serverUrl.href).toBe('https://127.0.0.1:8443/');
    expect(config.trust).toEqual({ caFile: '/etc/rmm/ca.pem', fingerprint: undefined });
    expect(config.tokenFile).toBe('/run/rmm/token');
    expect(config.exportDir).toBeUndefined();
  });

  it('prefers a user token file over the operator token, and needs one of them', () => {
    const config = loadConsoleConfig({ ...base, RMM_CA_FILE: 'x', RMM_TOKEN_FILE: '/home/tech/.rmm-token', RMM_EXPORT_DIR: '/tmp/exports' });
    expect(config.tokenFile).toBe('/home/tech/.rmm-token');
    expect(config.exportDir).toBe('/tmp/exports');
    const { RMM_OPERATOR_TOKEN_FILE: _operator, ...noToken } = base;
    expect(() => loadConsoleConfig({ ...noToken, RMM_CA_FILE: 'x' })).toThrow(/RMM_TOKEN_FILE/);
    expect(loadConsoleConfig({ ...noToken, RMM_CA_FILE: 'x', RMM_TOKEN_FILE: '/t' }).tokenFile).toBe('/t');
  });

  it('signs in with Azure AD when RMM_SIGN_IN_AUTHORITY is set, with no token file needed', () => {
    const { RMM_OPERATOR_TOKEN_FILE: _operator, ...noToken } = base;
    const config = loadConsoleConfig({
      ...noToken,
      RMM_CA_FILE: 'x',
      RMM_SIGN_IN_AUTHORITY: 'https://127.0.0.1:8444/11111111-2222-3333-4444-555555555555/v2.0',
      RMM_SIGN_IN_CLIENT_ID: 'AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE',
      RMM_SIGN_IN_CACHE_FILE: '/home/tech/.rmm/msal-cache.bin',
    });
    expect(config.signIn).toMatchObject({ clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', knownAuthorities: ['127.0.0.1:8444'] });
    expect(config.signInCacheFile).toBe('/home/tech/.rmm/msal-cache.bin');
    expect(loadConsoleConfig({ ...base, RMM_CA_FILE: 'x' }).signIn).toBeUndefined();
    // A sign-in authority without a valid client id is refused, not ignored.
    expect(() => loadConsoleConfig({ ...noToken, RMM_CA_FILE: 'x', RMM_SIGN_IN_AUTHORITY: 'https://127.0.0.1:8444/t/v2.0' })).toThrow(/clientId/);
  });

  it('refuses plain http, no trust source, and both trust sources at once', () => {
    expect(() => loadConsoleConfig({ ...base, RMM_SERVER_URL: 'http://127.0.0.1:8443', RMM_CA_FILE: 'x' })).toThrow();
    expect(() => loadConsoleConfig(base)).toThrow(/exactly one/);
    expect(() => loadConsoleConfig({ ...base, RMM_CA_FILE: 'x', RMM_SERVER_FINGERPRINT: 'y' })).toThrow(/exactly one/);
  });

  it('accepts a fingerprint with or without colons and refuses anything else', () => {
    const hex = 'ab'.repeat(32);
    expect(normalizeFingerprint(hex)).toBe(hex.toUpperCase());
    expect(normalizeFingerprint(`sha256:${hex.match(/../g)?.join(':')}`)).toBe(hex.toUpperCase());
    expect(() => normalizeFingerprint('ab'.repeat(20))).toThrow();
  });

  it('backs off exponentially with jitter up to the ceiling', () => {
    const backoff = { initialMs: 1_000, maxMs: 30_000 };
    expect(backoffDelay(0, backoff, () => 0)).toBe(500);
    expect(backoffDelay(0, backoff, () => 1)).toBe(1_000);
    expect(backoffDelay(3, backoff, () => 1)).toBe(8_000);
    expect(backoffDelay(20, backoff, () => 1)).toBe(30_000);
  });

  it('derives the console feed URL from the server URL', () => {
    expect(consoleFeedUrl(new URL('https://rmm.example:8443/some/base')).href).toBe('wss://rmm.example:8443/ws/console');
  });
});
