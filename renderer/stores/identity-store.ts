import { create } from 'zustand';
import type { User } from '../../protocol/access';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/* Who is signed in (until Azure AD: the owner of the console's API token). */

interface IdentityState {
  user: User | null;
  status: LoadStatus;
  error: string | null;
  load(): Promise<void>;
}

export const useIdentityStore = create<IdentityState>()((set) => ({
  user: null,
  status: 'idle',
  error: null,
  async load() {
    set({ status: 'loading', error: null });
    try {
      const { user } = await api.me();
      set({ user, status: 'ready' });
    } catch (error) {
      set({ status: 'error', error: errorMessage(error) });
    }
  },
}));
