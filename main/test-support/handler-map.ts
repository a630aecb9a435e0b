import { ipcContract, type AppInfo, type IpcChannel, type IpcHandlerMap } from '../../protocol/ipc-contract';
import { ConsoleError } from '../console-error';
import * as fixtures from './console-fixtures';

/** A full handler map from the channels a test cares about; the others refuse with `internal`. */
export function completeHandlers(handlers: Partial<IpcHandlerMap>): IpcHandlerMap {
  const missing = async (): Promise<never> => {
    throw new ConsoleError('internal', 'not part of this test');
  };
  const full = Object.fromEntries((Object.keys(ipcContract) as IpcChannel[]).map((channel) => [channel, handlers[channel] ?? missing]));
  return full as IpcHandlerMap;
}

/** The read-only agent screens over the sample fixtures, as the bridge and IPC tests need them. */
export function fixtureAgentHandlers(host: AppInfo['host']): IpcHandlerMap {
  return completeHandlers({
    'app.info': async () => ({ name: 'RMM Console', version: '0.1.0', serverOrigin: 'https://rmm.test', host }),
    'orgs.list': async () => ({ orgs: fixtures.orgs }),
    'units.list': async () => ({ units: fixtures.units }),
    'agents.list': async () => ({ agents: fixtures.agents }),
    'agents.get': async () => fixtures.agentADetail,
    'console.subscribe': async ({ orgId }) => ({ orgId }),
    'connection.get': async () => ({ state: 'online', detail: 'connected' }),
  });
}
