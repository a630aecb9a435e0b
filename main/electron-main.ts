import { app, BrowserWindow, dialog, ipcMain, session } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AppLocation } from './app-location';
import { loadConsoleConfig } from './console-config';
import { createConsoleServicesFromFiles, type ConsoleServices } from './console-services';
import { forwardEventsToWindows, registerIpcHandlers } from './ipc-register';
import { createWindowFactory, hardenSession, hardenWebContents } from './window-factory';

/*
 * The thin Electron shell: lifecycle, one window through the factory, the handler map on
 * ipcMain. Everything it wires is a plain module tested under Node; this file only runs inside
 * Electron (built by main/vite.config.ts into dist-electron/main.js).
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const preloadPath = path.join(here, 'preload.cjs');
const rendererIndex = pathToFileURL(path.join(here, '..', 'dist', 'renderer', 'index.html')).href;
const appLocation: AppLocation = { kind: 'file', indexUrl: rendererIndex };

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

// Any webContents, including ones we did not expect, gets the same navigation locks.
app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));

let services: ConsoleServices | undefined;
let mainWindow: BrowserWindow | undefined;

/** Audit exports ask where to save with the native dialog, attached to the console window. */
async function chooseExportFile(suggestedName: string): Promise<string | null> {
  const options = { defaultPath: path.join(app.getPath('documents'), suggestedName), properties: ['createDirectory', 'showOverwriteConfirmation'] as Array<'createDirectory' | 'showOverwriteConfirmation'> };
  const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
  return result.canceled || !result.filePath ? null : result.filePath;
}

async function start(): Promise<void> {
  const config = loadConsoleConfig(process.env);
  services = await createConsoleServicesFromFiles({
    serverUrl: config.serverUrl,
    caFile: config.trust.caFile,
    fingerprint: config.trust.fingerprint,
    tokenFile: config.tokenFile,
    host: 'electron',
    version: app.getVersion(),
    exports: { chooseFile: chooseExportFile },
  });

  hardenSession(session.defaultSession, appLocation);
  const windows = createWindowFactory({ BrowserWindow, preloadPath, app: appLocation, devTools: !app.isPackaged });
  registerIpcHandlers(ipcMain, services.handlers, { app: appLocation, isOwnWindow: windows.isOwnWindow }, (channel, reason) =>
    console.warn(`refused IPC on ${channel}: ${reason}`),
  );
  forwardEventsToWindows(services.events, () => windows.windows().map((window) => window.webContents));
  services.start();

  const main = windows.create({ title: 'RMM Console' });
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
