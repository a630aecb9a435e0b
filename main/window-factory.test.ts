import { readFileSync } from 'node:fs';
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import { SessionEnded } from '../protocol/ipc-contract';
import { isAllowedRendererRequest, isAppPage } from './app-location';
import { CONTENT_SECURITY_POLICY } from './content-security-policy';
import { shouldShowNotice } from './session-notice';
import { buildNoticeWindowOptions, buildWindowOptions, createWindowFactory, noticeLocation, withContentSecurityPolicy } from './window-factory';

/** Enough of Electron's BrowserWindow for the factory, recording what it was asked. */
class FakeWindow {
  static created: FakeWindow[] = [];
  static nextId = 1;
  readonly webContents: { id: number; on(): void; setWindowOpenHandler(): void };
  readonly listeners = new Map<string, () => void>();
  loaded: string | undefined;
  contentProtection = false;
  destroyed = false;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    this.webContents = { id: FakeWindow.nextId++, on: () => undefined, setWindowOpenHandler: () => undefined };
    FakeWindow.created.push(this);
  }
  on(event: string, listener: () => void): void {
    this.listeners.set(event, listener);
  }
  once(event: string, listener: () => void): void {
    this.listeners.set(event, listener);
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
  }
  setContentProtection(on: boolean): void {
    this.contentProtection = on;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  close(): void {
    this.destroyed = true;
    this.listeners.get('closed')?.();
  }
}

const revoked: SessionEnded = { kind: 'revoked', reason: 'Laptop reported stolen', by: { userId: '6f1c1e5d-5d57-4c4e-9f57-0f3f3b1d2a01', name: 'Ada Admin' }, at: '2025-03-01T09:15:00.000Z' };

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

  it('builds the notice window small, fixed, on top and as locked down as the console, without DevTools', () => {
    const options = buildNoticeWindowOptions('/app/dist-electron/notice-preload.cjs');
    expect(options).toMatchObject({ width: 460, height: 320, resizable: false, minimizable: false, maximizable: false, fullscreenable: false, alwaysOnTop: true, show: false });
    expect(options.webPreferences).toEqual({ ...buildWindowOptions({ title: 'x', preloadPath: '/app/dist-electron/notice-preload.cjs' }).webPreferences, devTools: false });
  });

  it('opens the notice on notice.html with the ended session in the query, apart from the console windows', () => {
    const app = { kind: 'file', indexUrl: 'file:///app/dist/renderer/index.html' } as const;
    const factory = createWindowFactory({
      BrowserWindow: FakeWindow as unknown as typeof BrowserWindow,
      preloadPath: '/app/dist-electron/preload.cjs',
      noticePreloadPath: '/app/dist-electron/notice-preload.cjs',
      app,
    });
    const main = factory.create({ title: 'RMM Console' }) as unknown as FakeWindow;
    const notice = factory.openNotice(revoked) as unknown as FakeWindow;
    expect(notice.options.webPreferences?.preload).toBe('/app/dist-electron/notice-preload.cjs');
    expect(notice.contentProtection).toBe(true);
    const url = new URL(notice.loaded ?? '');
    expect(`${url.protocol}//${url.pathname}`).toBe('file:///app/dist/renderer/notice.html');
    expect(SessionEnded.parse(JSON.parse(Buffer.from(url.searchParams.get('ended') ?? '', 'base64url').toString('utf8')))).toEqual(revoked);
    expect(isAllowedRendererRequest(url.href, app)).toBe(true);
    // The notice is not a console window: no IPC contract from it, no events to it.
    expect(isAppPage(url.href, app)).toBe(false);
    expect(factory.isOwnWindow(notice.webContents.id)).toBe(false);
    expect(factory.isOwnWindow(main.webContents.id)).toBe(true);
    expect(factory.windows()).toEqual([main]);

    // Its close is honoured for it alone; a second notice replaces the first.
    factory.closeNotice(main.webContents.id);
    expect(main.destroyed).toBe(false);
    const second = factory.openNotice({ ...revoked, reason: 'Offboarding' }) as unknown as FakeWindow;
    expect(notice.destroyed).toBe(true);
    factory.closeNotice(notice.webContents.id);
    expect(second.destroyed).toBe(false);
    factory.closeNotice(second.webContents.id);
    expect(second.destroyed).toBe(true);
  });

  it('finds notice.html on a dev server too, and opens it only for a revocation', () => {
    expect(noticeLocation({ kind: 'origin', origin: 'http://127.0.0.1:5173' }, revoked)).toMatch(/^http:\/\/127\.0\.0\.1:5173\/notice\.html\?ended=[A-Za-z0-9_-]+$/);
    expect(shouldShowNotice(revoked)).toBe(true);
    for (const kind of ['idle', 'absolute', 'signed_out'] as const) expect(shouldShowNotice({ ...revoked, kind, by: null })).toBe(false);
  });

  it('ships the same CSP in the notice page meta tag', () => {
    const html = readFileSync(new URL('../renderer/notice.html', import.meta.url), 'utf8');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
    expect(html).not.toMatch(/style=|<style/);
  });
});
