import { ipcContract, type IpcChannel, type IpcHandlerMap } from '../../protocol/ipc-contract';
import { ConsoleError } from '../console-error';

/** A full handler map from the channels a test cares about; the others refuse with `internal`. */
export function completeHandlers(handlers: Partial<IpcHandlerMap>): IpcHandlerMap {
  const missing = async (): Promise<never> => {
    throw new ConsoleError('internal', 'not part of this test');
  };
  const full = Object.fromEntries((Object.keys(ipcContract) as IpcChannel[]).map((channel) => [channel, handlers[channel] ?? missing]));
  return full as IpcHandlerMap;
}
