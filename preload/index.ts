import { contextBridge, ipcRenderer } from 'electron';
import {
  ipcEventChannel,
  ipcInvokeChannel,
  isIpcChannel,
  isIpcEventName,
  type IpcChannel,
  type IpcEventName,
  type IpcEventPayload,
  type IpcRequest,
  type IpcResponse,
  type IpcResult,
} from '../protocol/ipc-contract';

/*
 * Exposes exactly the IPC contract as `window.rmm`, nothing more: no ipcRenderer, no event
 * objects, no channel outside the contract. Sandboxed preloads cannot require modules, so this
 * file is bundled into dist-electron/preload.cjs by main/vite.config.ts. Main re-validates
 * everything; the checks here only keep mistakes from leaving the renderer.
 */

const bridge = {
  invoke<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>> {
    if (!isIpcChannel(channel)) {
      return Promise.resolve({ ok: false, error: { code: 'unknown_channel', message: 'unknown IPC channel' } });
    }
    return ipcRenderer.invoke(ipcInvokeChannel(channel), request) as Promise<IpcResult<IpcResponse<C>>>;
  },
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
    if (!isIpcEventName(event)) return () => undefined;
    const channel = ipcEventChannel(event);
    // Never hand the renderer Electron's event object: it exposes `sender`.
    const wrapped = (_event: unknown, payload: IpcEventPayload<E>): void => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

/** The renderer's view of the bridge, derived from this file so the two cannot drift. */
export type RmmBridge = typeof bridge;

contextBridge.exposeInMainWorld('rmm', bridge);
