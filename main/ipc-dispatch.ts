import {
  ipcContract,
  isIpcChannel,
  type IpcChannel,
  type IpcHandlerMap,
  type IpcResult,
} from '../protocol/ipc-contract';
import { toIpcError } from './console-error';

/*
 * The single path from an untrusted (channel, request) pair to a handler. Electron's ipcMain
 * registration and the browser host's WebSocket both go through it, so both parse the request,
 * strip the response to the contract and map errors identically.
 */

export async function dispatchIpc(
  handlers: IpcHandlerMap,
  channel: unknown,
  rawRequest: unknown,
): Promise<IpcResult<unknown>> {
  if (!isIpcChannel(channel)) {
    return { ok: false, error: { code: 'unknown_channel', message: 'unknown IPC channel' } };
  }
  return dispatchKnown(handlers, channel, rawRequest);
}

async function dispatchKnown<C extends IpcChannel>(
  handlers: IpcHandlerMap,
  channel: C,
  rawRequest: unknown,
): Promise<IpcResult<unknown>> {
  const { request: requestSchema, response: responseSchema } = ipcContract[channel];
  const parsed = requestSchema.safeParse(rawRequest ?? {});
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    return {
      ok: false,
      error: { code: 'validation_failed', message: `invalid request for ${channel}: ${where}${first?.message ?? ''}` },
    };
  }
  try {
    // The mapped handler type is indexed by a generic key; TypeScript cannot correlate the
    // request type with it, so we call through a signature widened to what safeParse returned.
    const handler = handlers[channel] as (request: typeof parsed.data) => Promise<unknown>;
    const value = await handler(parsed.data);
    // Parsing the answer too strips anything a handler added beyond the contract.
    const out = responseSchema.safeParse(value);
    if (!out.success) {
      return { ok: false, error: { code: 'internal', message: `handler for ${channel} broke the contract` } };
    }
    return { ok: true, value: out.data };
  } catch (error) {
    return { ok: false, error: toIpcError(error) };
  }
}
