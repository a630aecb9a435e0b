import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAllowedRendererRequest } from './app-location';
import { CONTENT_SECURITY_POLICY } from './content-security-policy';
import { buildWindowOptions, withContentSecurityPolicy } from './window-factory';

describe('window factory', () => {
  it('builds windows with the hardened defaults', () => {
    const options = buildWindowOptions({ title: 'RMM Console', preloadPath: '/app/dist-electron/preload.cjs' });
    expect(options.webPreferences).toMatchObject({
      preload: '/app/dist-electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      devTools: false,
    });
    expect(options.show).toBe(false);
  });

  it('uses the strict CSP and replaces any CSP a response carried', () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    const headers = withContentSecurityPolicy({ 'content-security-policy': ["default-src *"], 'X-Other': ['1'] });
    expect(headers).toEqual({ 'Content-Security-Policy': [CONTENT_SECURITY_POLICY], 'X-Other': ['1'] });
  });

  it('ships the same CSP in the renderer page meta tag', () => {
    const html = readFileSync(new URL('../renderer/index.html', import.meta.url), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
    expect(html).not.toMatch(/style=|<style/);
  });

  it('lets the renderer load only its own files', () => {
    const app = { kind: 'file', indexUrl: 'file:///app/dist/renderer/index.html' } as const;
    expect(isAllowedRendererRequest('file:///app/dist/renderer/assets/index.js', app)).toBe(true);
    expect(isAllowedRendererRequest('data:image/png;base64,AAAA', app)).toBe(true);
    expect(isAllowedRendererRequest('file:///app/dist/renderer/../../secrets.txt', app)).toBe(false);
    expect(isAllowedRendererRequest('file:///etc/passwd', app)).toBe(false);
    expect(isAllowedRendererRequest('https://cdn.example/x.js', app)).toBe(false);
    expect(isAllowedRendererRequest('wss://rmm.example/ws/console', app)).toBe(false);
  });
});
