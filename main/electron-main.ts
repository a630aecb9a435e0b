import { app, BrowserWindow, dialog, ipcMain, session } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SessionEnded } from '../protocol/ipc-contract';
import type { AppLocation } from './app-location';
import { loadConsoleConfig } from './console-config';
import { createConsoleServicesFromFiles, type ConsoleServices } from './console-services';
import { forwardEventsToWindows, registerIpcHandlers } from './ipc-register';
import { NOTICE_CLOSE_CHANNEL } from '../preload/notice-channel';
import { shouldShowNotice } from './session-notice';
import { openInSystemBrowser } from './sign-in-electron';
import { createWindowFactory, hardenSession, hardenWebContents, type WindowFactory } from './window-factory';

/*
 * The thin Electron shell: lifecycle, one window through the factory, the handler map on
 * ipcMain, the session-ended notice window. Everything it wires is a plain module tested under
 * Node; this file only runs inside Electron (built by main/vite.config.ts into
 * dist-electron/main.js). With RMM_SIGN_IN_AUTHORITY set the console signs in with Azure AD in
 * the system browser; MSAL's encrypted cache lives in userData (or RMM_SIGN_IN_CACHE_FILE).
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const preloadPath = path.join(here, 'preload.cjs');
const noticePreloadPath = path.join(here, 'notice-preload.cjs');
const rendererIndex = pathToFileURL(path.join(here, '..', 'dist', 'renderer', 'index.html')).href;
const appLocation: AppLocation = { kind: 'file', indexUrl: rendererIndex };

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

// Any webContents, including ones we did not expect, gets the same navigation locks.
app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

let services: ConsoleServices | undefined;
let mainWindow: BrowserWindow | undefined;
let windows: WindowFactory | undefined;

/** Someone else ended this console's session: say who and why in a window of its own. */
function onSessionEnded(ended: SessionEnded): void {
  if (shouldShowNotice(ended)) windows?.openNotice(ended);
}

/** Audit exports ask where to save with the native dialog, attached to the console window. */
async function chooseExportFile(suggestedName: string): Promise<string | null> {
  const options = { defaultPath: path.join(app.getPath('documents'), suggestedName), properties: ['createDirectory', 'showOverwriteConfirmation'] as Array<'createDirectory' | 'showOverwriteConfirmation'> };
  const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
  return result.canceled || !result.filePath ? null : result.filePath;
}

async function start(): Promise<void> {
  const config = loadConsoleConfig(process.env);
  const signIn = config.signIn
    ? { config: config.signIn, cacheFile: config.signInCacheFile ?? path.join(app.getPath('userData'), 'msal-cache.bin'), openExternal: openInSystemBrowser }
    : undefined;
  services = await createConsoleServicesFromFiles({
    serverUrl: config.serverUrl,
    caFile: config.trust.caFile,
    fingerprint: config.trust.fingerprint,
    ...(signIn ? { signIn } : { tokenFile: config.tokenFile }),
    host: 'electron',
    version: app.getVersion(),
    exports: { chooseFile: chooseExportFile },
    onSessionEnded,
  });

  hardenSession(session.defaultSession, appLocation);
  const factory = createWindowFactory({ BrowserWindow, preloadPath, noticePreloadPath, app: appLocation, devTools: !app.isPackaged });
  windows = factory;
  registerIpcHandlers(ipcMain, services.handlers, { app: appLocation, isOwnWindow: factory.isOwnWindow }, (channel, reason) =>
    console.warn(`refused IPC on ${channel}: ${reason}`),
  );
  ipcMain.on(NOTICE_CLOSE_CHANNEL, (event) => factory.closeNotice(event.sender.id));
  forwardEventsToWindows(services.events, () => factory.windows().map((window) => window.webContents));
  services.start();

  const main = factory.create({ title: 'RMM Console' });
  mainWindow = main;
  app.on('second-instance', () => {
    if (main.isMinimized()) main.restore();
    main.focus();
  });
}

app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => void services?.stop());

app
  .whenReady()
  .then(start)
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    app.exit(1);
  });
