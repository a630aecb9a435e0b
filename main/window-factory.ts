import type {
  BrowserWindow,
  BrowserWindowConstructorOptions,
  OnBeforeRequestListenerDetails,
  OnHeadersReceivedListenerDetails,
  Session,
  WebContents,
} from 'electron';
import type { SessionEnded } from '../protocol/ipc-contract';
import { isAllowedRendererRequest, type AppLocation } from './app-location';
import { CONTENT_SECURITY_POLICY } from './content-security-policy';
import { noticeUrl } from './session-notice';

/*
 * Every console window is built here, with hardened defaults the caller cannot weaken. The
 * option building and header rewriting are pure so Node tests check them without Electron.
 */

export interface WindowSpec {
  title: string;
  preloadPath: string;
  width?: number;
  height?: number;
  /** DevTools only in development builds. */
  devTools?: boolean;
}

export function buildWindowOptions(spec: WindowSpec): BrowserWindowConstructorOptions {
  return {
    title: spec.title,
    width: spec.width ?? 1280,
    height: spec.height ?? 800,
    minWidth: 900,
    minHeight: 560,
    show: false,
    backgroundColor: '#f5f7fa',
    autoHideMenuBar: true,
    webPreferences: {
      preload: spec.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      devTools: spec.devTools ?? false,
    },
  };
}

/**
 * The session-ended notice: small, fixed, on top of everything, with the same locked-down web
 * preferences and its own minimal preload (a close function, no IPC contract). Never DevTools.
 */
export function buildNoticeWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  const base = buildWindowOptions({ title: 'Session ended', preloadPath, width: 460, height: 320, devTools: false });
  return {
    ...base,
    minWidth: 460,
    minHeight: 320,
    resizable: false,
    minimizable: false,
    maximizable: false,
    fullscreenable: false,
    alwaysOnTop: true,
    center: true,
    webPreferences: { ...base.webPreferences, preload: preloadPath, devTools: false },
  };
}

/** Response headers with our CSP replacing whatever the response carried. */
export function withContentSecurityPolicy(
  headers: Record<string, string | string[]> | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'content-security-policy') out[name] = value;
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  return out;
}

/** Session-wide locks: CSP on every response, no permissions, no request outside the app. */
export function hardenSession(session: Session, app: AppLocation): void {
  session.webRequest.onHeadersReceived((details: OnHeadersReceivedListenerDetails, callback) => {
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
  session.webRequest.onBeforeRequest((details: OnBeforeRequestListenerDetails, callback) => {
    callback({ cancel: !isAllowedRendererRequest(details.url, app) });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** Per-contents locks: the page never navigates, opens windows or attaches webviews. */
export function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export interface WindowFactory {
  create(spec: Omit<WindowSpec, 'preloadPath'>): BrowserWindow;
  /** Opens the notice for an ended session (replacing one still open); needs `noticePreloadPath`. */
  openNotice(ended: SessionEnded): BrowserWindow;
  /** Closes the notice whose webContents asked (its preload's close); anything else is ignored. */
  closeNotice(webContentsId: number): void;
  /** True for the webContents id of a live console window this factory built (for IPC sender checks); never a notice. */
  isOwnWindow(webContentsId: number): boolean;
  /** The console windows (events go here); never a notice. */
  windows(): BrowserWindow[];
}

/** Where notice.html lives: next to the console's index.html, or on the dev server. */
export function noticeLocation(app: AppLocation, ended: SessionEnded): string {
  return noticeUrl(app.kind === 'file' ? app.indexUrl : `${app.origin}/`, ended);
}

export function createWindowFactory(deps: {
  BrowserWindow: typeof BrowserWindow;
  preloadPath: string;
  /** The notice window's own preload (dist-electron/notice-preload.cjs). */
  noticePreloadPath?: string;
  app: AppLocation;
  devTools?: boolean;
}): WindowFactory {
  const live = new Map<number, BrowserWindow>();
  let notice: { id: number; window: BrowserWindow } | undefined;
  return {
    create(spec) {
      const window = new deps.BrowserWindow(
        buildWindowOptions({ ...spec, preloadPath: deps.preloadPath, devTools: deps.devTools }),
      );
      const id = window.webContents.id;
      live.set(id, window);
      window.on('closed', () => live.delete(id));
      hardenWebContents(window.webContents);
      window.once('ready-to-show', () => window.show());
      if (deps.app.kind === 'file') void window.loadURL(deps.app.indexUrl);
      else void window.loadURL(`${deps.app.origin}/`);
      return window;
    },
    openNotice(ended) {
      if (!deps.noticePreloadPath) throw new Error('the notice window needs its preload');
      if (notice && !notice.window.isDestroyed()) notice.window.close();
      const window = new deps.BrowserWindow(buildNoticeWindowOptions(deps.noticePreloadPath));
      const id = window.webContents.id;
      notice = { id, window };
      window.on('closed', () => {
        if (notice?.id === id) notice = undefined;
      });
      // Not captured by screen sharing or recording: it names who ended the session and why.
      window.setContentProtection(true);
      hardenWebContents(window.webContents);
      window.once('ready-to-show', () => {
        window.show();
        window.focus();
      });
      void window.loadURL(noticeLocation(deps.app, ended));
      return window;
    },
    closeNotice(webContentsId) {
      if (notice?.id === webContentsId && !notice.window.isDestroyed()) notice.window.close();
    },
    isOwnWindow: (webContentsId) => live.has(webContentsId),
    windows: () => [...live.values()],
  };
}
