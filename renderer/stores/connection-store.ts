import { create } from 'zustand';
import type { AppInfo, ConnectionState } from '../../protocol/ipc-contract';

/* The live feed's state as main reports it, and what the console is connected to. */

interface ConnectionStoreState {
  connection: ConnectionState;
  appInfo: AppInfo | null;
  setConnection(connection: ConnectionState): void;
  setAppInfo(appInfo: AppInfo): void;
}

export const useConnectionStore = create<ConnectionStoreState>()((set) => ({
  connection: { state: 'connecting', detail: 'starting' },
  appInfo: null,
  setConnection: (connection) => set({ connection }),
  setAppInfo: (appInfo) => set({ appInfo }),
}));
