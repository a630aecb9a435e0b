import { create } from 'zustand';

/* Which screen of the open org the main area shows. */

export type ConsoleView = 'agents' | 'units' | 'people' | 'workspace' | 'audit' | 'sessions' | 'security' | 'identity' | 'alerts' | 'scripts';

interface ViewState {
  view: ConsoleView;
  show(view: ConsoleView): void;
}

export const useViewStore = create<ViewState>()((set) => ({
  view: 'agents',
  show: (view) => set({ view }),
}));
