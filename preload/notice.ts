import { contextBridge, ipcRenderer } from 'electron';
import { NOTICE_CLOSE_CHANNEL } from './notice-channel';

/*
 * The session-ended notice window's preload: one function, close. No IPC contract, no events,
 * nothing of the console; the page shows what its URL says (notice.html?ended=…). Main closes
 * the window only when the sender is the notice it opened (window-factory.ts closeNotice).
 * Bundled into dist-electron/notice-preload.cjs by main/vite.config.ts.
 */

contextBridge.exposeInMainWorld('rmmNotice', {
  close(): void {
    ipcRenderer.send(NOTICE_CLOSE_CHANNEL);
  },
});
