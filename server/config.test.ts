import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackHost, loadServerConfig } from './config';

describe('server configuration', () => {
  it('defaults to https://127.0.0.1:8443 with ./.rmm-data and PGlite', () => {
    const config = loadServerConfig({}, {});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8443, dataDir: path.resolve('.rmm-data') });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('lets environment override the file and flags override the environment', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-config-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ port: 9000, logLevel: 'debug', host: '127.0.0.2' }));
    const config = loadServerConfig({ host: '127.0.0.3' }, { RMM_CONFIG_FILE: file, RMM_PORT: '9100' });
    expect(config).toMatchObject({ port: 9100, logLevel: 'debug', host: '127.0.0.3' });
  });

  it('names the environment variable that holds a bad value', () => {
    expect(() => loadServerConfig({}, { RMM_PORT: '70000' })).toThrow(/RMM_PORT: .*65535/);
    expect(() => loadServerConfig({}, { DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgres/);
    expect(() => loadServerConfig({ port: 'abc' }, {})).toThrow(/--port: /);
  });

  it('names unknown keys and unreadable files in the config file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-config-'));
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadServerConfig({}, { RMM_CONFIG_FILE: file })).toThrow(/unknown key\(s\) prot/);
    writeFileSync(file, '{not json');
    expect(() => loadServerConfig({}, { RMM_CONFIG_FILE: file })).toThrow(ConfigError);
    expect(() => loadServerConfig({}, { RMM_CONFIG_FILE: path.join(dir, 'missing.json') })).toThrow(/RMM_CONFIG_FILE/);
  });

  it('reads the Azure AD sign-in keys: Entra by default, sign-in off without an audience, https authorities only', () => {
    const defaults = loadServerConfig({}, {});
    expect(defaults).toMatchObject({ authAuthorityBase: 'https://login.microsoftonline.com', authScope: 'access_as_user' });
    expect(defaults.authAudience).toBeUndefined();
    const dev = loadServerConfig({}, { RMM_AUTH_AUTHORITY_BASE: 'https://127.0.0.1:8444', RMM_AUTH_AUDIENCE: 'api://5e1f0000-0000-4000-8000-000000000a01', RMM_AUTH_CA_FILE: '/tmp/idp.pem' });
    expect(dev).toMatchObject({ authAuthorityBase: 'https://127.0.0.1:8444', authAudience: 'api://5e1f0000-0000-4000-8000-000000000a01', authCaFile: '/tmp/idp.pem' });
    expect(() => loadServerConfig({}, { RMM_AUTH_AUTHORITY_BASE: 'http://login.example.test' })).toThrow(/RMM_AUTH_AUTHORITY_BASE: /);
  });

  it('reads the MSP staff tenant (a GUID, kept in lower case; unset: no staff sign-in)', () => {
    expect(loadServerConfig({}, {}).authStaffTenant).toBeUndefined();
    expect(loadServerConfig({}, { RMM_AUTH_STAFF_TENANT: 'D3E0C1A1-0000-4000-8000-000000000002' }).authStaffTenant).toBe('d3e0c1a1-0000-4000-8000-000000000002');
    expect(() => loadServerConfig({}, { RMM_AUTH_STAFF_TENANT: 'contoso.onmicrosoft.com' })).toThrow(/RMM_AUTH_STAFF_TENANT: /);
  });

  it('requires the TLS certificate and key together', () => {
    expect(() => loadServerConfig({}, { RMM_TLS_CERT_FILE: '/tmp/cert.pem' })).toThrow(/tlsCertFile and tlsKeyFile must be set together/);
  });

  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.org'].some(isLoopbackHost)).toBe(false);
  });
});
