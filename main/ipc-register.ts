import {
  ipcContract,
  ipcEventChannel,
  ipcInvokeChannel,
  type IpcChannel,
  type IpcEventEnvelope,
  type IpcHandlerMap,
  type IpcResult,
} from '../protocol/ipc-contract';
import { isAppPage, type AppLocation } from './app-location';
import type { EventSource } from './handlers';
import { dispatchIpc } from './ipc-dispatch';

/*
 * Registers the handler map on Electron's ipcMain: one `handle` per contract channel, each
 * refusing senders that are not the top frame of a window we created showing our own page.
 * Written against the small structural types below so Node tests drive it with a fake ipcMain.
 */

export interface SenderFrameLike {
  readonly url: string;
  /** null for a top frame (Electron's WebFrameMain.parent). */
  readonly parent: unknown;
}

export interface InvokeEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame: SenderFrameLike | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface SenderPolicy {
  app: AppLocation;
  /** True for the webContents of windows built by our window factory. */
  isOwnWindow(webContentsId: number): boolean;
}

export type SenderVerdict = { ok: true } | { ok: false; reason: string };

export function checkSender(event: InvokeEventLike, policy: SenderPolicy): SenderVerdict {
  const frame = event.senderFrame;
  if (!frame) return { ok: false, reason: 'sender frame is gone' };
  if (frame.parent !== null) return { ok: false, reason: 'sender is a subframe' };
  if (!policy.isOwnWindow(event.sender.id)) return { ok: false, reason: 'sender is not a console window' };
  if (!isAppPage(frame.url, policy.app)) return { ok: false, reason: 'sender frame is not the console page' };
  return { ok: true };
}

export async function handleInvoke(
  handlers: IpcHandlerMap,
  policy: SenderPolicy,
  channel: IpcChannel,
  event: InvokeEventLike,
  request: unknown,
): Promise<IpcResult<unknown>> {
  const verdict = checkSender(event, policy);
  if (!verdict.ok) return { ok: false, error: { code: 'sender_refused', message: verdict.reason } };
  return dispatchIpc(handlers, channel, request);
}

/** Registers every contract channel; returns the function that removes them again. */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  handlers: IpcHandlerMap,
  policy: SenderPolicy,
  onRefused?: (channel: IpcChannel, reason: string) => void,
): () => void {
  const channels = Object.keys(ipcContract) as IpcChannel[];
  for (const channel of channels) {
    ipcMain.handle(ipcInvokeChannel(channel), async (event, request) => {
      const result = await handleInvoke(handlers, policy, channel, event, request);
      if (!result.ok && result.error.code === 'sender_refused') onRefused?.(channel, result.error.message);
      return result;
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(ipcInvokeChannel(channel));
  };
}

export interface EventTargetLike {
  isDestroyed(): boolean;
  send(channel: string, payload: unknown): void;
}

/** Pushes every contract event to the console's windows. */
export function forwardEventsToWindows(events: EventSource, targets: () => Iterable<EventTargetLike>): () => void {
  return events.subscribe((envelope: IpcEventEnvelope) => {
    for (const target of targets()) {
      if (!target.isDestroyed()) target.send(ipcEventChannel(envelope.event), envelope.payload);
    }
  });
}
