import path from 'node:path';
import type { IpcChannel, IpcRequest, IpcResponse, IpcResult } from '../../protocol/ipc-contract';
import type { TestServer } from '../../server/test-support';
import { createConsoleServicesFromFiles, type ConsoleServices } from '../console-services';
import { dispatchIpc } from '../ipc-dispatch';

/*
 * Consoles of named people against a real test server, for handler tests: each with its own
 * services signed in with a token file, called through the same dispatch Electron and the browser
 * host use. `where` is read at call time, since the server starts in a beforeAll.
 */

export type ConsoleName = 'admin' | 'tech' | 'viewer';

export interface RealServerConsoles {
  consoles: Record<ConsoleName, ConsoleServices | undefined>;
  /** Opens `who`'s console with `tokenFile` (undefined: the operator, an MSP admin). */
  open(who: ConsoleName, tokenFile: string | undefined): Promise<ConsoleServices>;
  call<C extends IpcChannel>(who: ConsoleName, channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>>;
  /** The answer, or a thrown error naming the refusal. */
  value<C extends IpcChannel>(who: ConsoleName, channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>>;
  /** 'allowed', or the refusal's error code. */
  refusal<C extends IpcChannel>(who: ConsoleName, channel: C, request: IpcRequest<C>): Promise<string>;
  stopAll(): Promise<void>;
}

export function realServerConsoles(where: () => { t: TestServer; dir: string }): RealServerConsoles {
  const running: ConsoleServices[] = [];
  const consoles: Record<ConsoleName, ConsoleServices | undefined> = { admin: undefined, tech: undefined, viewer: undefined };

  const call = async <C extends IpcChannel>(who: ConsoleName, channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>> => {
    const services = consoles[who];
    if (!services) throw new Error(`no console for ${who}`);
    return (await dispatchIpc(services.handlers, channel, request)) as IpcResult<IpcResponse<C>>;
  };

  return {
    consoles,
    async open(who, tokenFile) {
      const { t, dir } = where();
      const services = await createConsoleServicesFromFiles({
        serverUrl: new URL(t.server.url),
        fingerprint: t.server.fingerprint,
        tokenFile,
        operatorTokenFile: t.server.operatorTokenFile,
        host: 'browser-host',
        exports: { directory: path.join(dir, 'exports'), progressIntervalMs: 0 },
      });
      running.push(services);
      consoles[who] = services;
      return services;
    },
    call,
    async value(who, channel, request) {
      const result = await call(who, channel, request);
      if (!result.ok) throw new Error(`${channel} as ${who}: ${result.error.code} ${result.error.message}`);
      return result.value;
    },
    async refusal(who, channel, request) {
      const result = await call(who, channel, request);
      return result.ok ? 'allowed' : result.error.code;
    },
    stopAll: () => Promise.all(running.map((services) => services.stop())).then(() => undefined),
  };
}
