import type { RmmBridge } from '../preload/index';
import type {
  IpcChannel,
  IpcErrorCode,
  IpcEventName,
  IpcEventPayload,
  IpcRequest,
  IpcResponse,
} from '../protocol/ipc-contract';

/*
 * The renderer's only way out: a typed client over `window.rmm`, which the preload (Electron)
 * or bridge.js (browser host) defines with the same shape. Failed calls throw ApiError with
 * the contract's error code.
 */

declare global {
  interface Window {
    rmm?: RmmBridge;
  }
}

export class ApiError extends Error {
  readonly code: IpcErrorCode;

  constructor(code: IpcErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

function bridge(): RmmBridge {
  const rmm = window.rmm;
  if (!rmm) throw new ApiError('internal', 'the console bridge is not available');
  return rmm;
}

async function call<C extends IpcChannel>(channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
  const result = await bridge().invoke(channel, request);
  if (!result.ok) throw new ApiError(result.error.code, result.error.message);
  return result.value;
}

export const api = {
  appInfo: () => call('app.info', {}),
  listOrgs: () => call('orgs.list', {}),
  listUnits: (orgId: string) => call('units.list', { orgId }),
  listAgents: (orgId: string) => call('agents.list', { orgId }),
  getAgent: (orgId: string, agentId: string) => call('agents.get', { orgId, agentId }),
  subscribe: (orgId: string) => call('console.subscribe', { orgId }),
  connectionState: () => call('connection.get', {}),
  on<E extends IpcEventName>(event: E, listener: (payload: IpcEventPayload<E>) => void): () => void {
    return bridge().on(event, listener);
  },
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'unexpected error';
}
