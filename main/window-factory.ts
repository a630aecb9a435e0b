import type {
  BrowserWindow,
  BrowserWindowConstructorOptions,
  OnBeforeRequestListenerDetails,
  OnHeadersReceivedListenerDetails,
  Session,
  WebContents,
} from 'electron';
import { isAllowedRendererRequest, type AppLocation } from './app-location';
import { CONTENT_SECURITY_POLICY } from './content-security-policy';

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
  /** True for the webContents id of a live window this factory built (for IPC sender checks). */
  isOwnWindow(webContentsId: number): boolean;
  windows(): BrowserWindow[];
}

export function createWindowFactory(deps: {
  BrowserWindow: typeof BrowserWindow;
  preloadPath: string;
  app: AppLocation;
  devTools?: boolean;
}): WindowFactory {
  const live = new Map<number, BrowserWindow>();
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
    isOwnWindow: (webContentsId) => live.has(webContentsId),
    windows: () => [...live.values()],
  };
}
