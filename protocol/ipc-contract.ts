import { z } from 'zod';
import { AgentDetail, AgentList, AgentParams, AgentSummary, OrgList, OrgParams, UnitList } from './api';
import { ErrorCode } from './errors';

/*
 * The one IPC contract between the console's renderer and its main side. Electron's ipcMain,
 * the preload bridge and the browser host all carry exactly these channels and events, parsed
 * with these schemas on the main side. Environment-agnostic: zod and protocol/ only.
 */

/** Error codes that can cross IPC: the server's codes plus what only the console side can say. */
export const IpcErrorCode = z.enum([
  ...ErrorCode.options,
  /** The server could not be reached (DNS, refused, timeout, connection reset). */
  'server_unreachable',
  /** The server's certificate did not match the configured CA or fingerprint pin. */
  'tls_untrusted',
  /** The server answered with a body that does not match the protocol schema. */
  'invalid_response',
  /** The channel is not part of this contract. */
  'unknown_channel',
  /** The IPC sender is not the console's own top-level window. */
  'sender_refused',
]);
export type IpcErrorCode = z.infer<typeof IpcErrorCode>;

export const IpcError = z.object({ code: IpcErrorCode, message: z.string() });
export type IpcError = z.infer<typeof IpcError>;

/** Thrown errors lose their shape crossing Electron IPC, so every call resolves to one of these. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  /** Origin of the RMM server this console talks to, e.g. https://rmm.example:8443. */
  serverOrigin: z.string(),
  /** Where the renderer runs: inside Electron or in a browser through the browser host. */
  host: z.enum(['electron', 'browser-host']),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const ConnectionState = z.object({
  state: z.enum(['connecting', 'online', 'offline']),
  /** Human-readable context, e.g. "retrying in 4 s: connection refused". */
  detail: z.string(),
});
export type ConnectionState = z.infer<typeof ConnectionState>;

const NoRequest = z.object({}).strict();

/** Invoke-style calls: the renderer sends `request`, main answers `IpcResult<response>`. */
export const ipcContract = {
  'app.info': { request: NoRequest, response: AppInfo },
  'orgs.list': { request: NoRequest, response: OrgList },
  'units.list': { request: OrgParams.strict(), response: UnitList },
  'agents.list': { request: OrgParams.strict(), response: AgentList },
  'agents.get': { request: AgentParams.strict(), response: AgentDetail },
  /** Live updates for one org at a time; replaces the previous subscription. */
  'console.subscribe': { request: OrgParams.strict(), response: z.object({ orgId: z.uuid() }) },
  /** The live feed's state right now, so a renderer that loads late need not wait for an event. */
  'connection.get': { request: NoRequest, response: ConnectionState },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

/** Events pushed from main to the renderer. */
export const ipcEvents = {
  'agent.status': z.object({ agent: AgentSummary }),
  'agent.inventory': z.object({ agent: AgentDetail }),
  'connection.state': ConnectionState,
} as const satisfies Record<string, z.ZodType>;

export type IpcChannel = keyof typeof ipcContract;
export type IpcRequest<C extends IpcChannel> = z.input<(typeof ipcContract)[C]['request']>;
export type IpcResponse<C extends IpcChannel> = z.output<(typeof ipcContract)[C]['response']>;
export type IpcEventName = keyof typeof ipcEvents;
export type IpcEventPayload<E extends IpcEventName> = z.output<(typeof ipcEvents)[E]>;

/** What main implements: one async function per channel, request already parsed. */
export type IpcHandlerMap = {
  [C in IpcChannel]: (request: z.output<(typeof ipcContract)[C]['request']>) => Promise<IpcResponse<C>>;
};

/** One pushed event as it travels: a discriminated union over the event map. */
export type IpcEventEnvelope = { [E in IpcEventName]: { event: E; payload: IpcEventPayload<E> } }[IpcEventName];

export function isIpcChannel(name: unknown): name is IpcChannel {
  return typeof name === 'string' && Object.hasOwn(ipcContract, name);
}

export function isIpcEventName(name: unknown): name is IpcEventName {
  return typeof name === 'string' && Object.hasOwn(ipcEvents, name);
}

/*
 * Electron channel names. Prefixed so an invoke channel and an event can never collide and so
 * nothing outside the contract shares the namespace.
 */
export function ipcInvokeChannel(channel: IpcChannel): string {
  return `rmm:invoke:${channel}`;
}

export function ipcEventChannel(event: IpcEventName): string {
  return `rmm:event:${event}`;
}
