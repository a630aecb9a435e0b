import { create } from 'zustand';
import type { AuthState } from '../../protocol/ipc-contract';
import { ApiError, api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/*
 * The console's sign-in state as main reports it (`auth.state` at start and on every change).
 * Main owns it; the renderer only shows the console, the sign-in screen or the lock screen.
 */

interface AuthStoreState {
  auth: AuthState | null;
  status: LoadStatus;
  /** Reading the state failed, or the last sign-in call was refused. */
  error: { code: string; message: string } | null;
  /** Events seen; an answer to `auth.state` older than the newest event is dropped. */
  version: number;
  load(): Promise<void>;
  apply(auth: AuthState): void;
  signIn(): Promise<void>;
  signOut(): Promise<void>;
}

/** The console (and the org data in it) is shown only with a session, or in API-token mode. */
export function isUnlocked(auth: AuthState | null): boolean {
  return auth !== null && (auth.mode === 'api-token' || auth.state === 'signed-in');
}

/** Changes whenever the console must start afresh: another session, or none. */
export function sessionKey(auth: AuthState | null): string | null {
  if (!auth || !isUnlocked(auth)) return null;
  return auth.mode === 'api-token' ? 'api-token' : (auth.session?.sessionId ?? 'signed-in');
}

export const useAuthStore = create<AuthStoreState>()((set, get) => ({
  auth: null,
  status: 'idle',
  error: null,
  version: 0,

  async load() {
    const version = get().version;
    set({ status: 'loading' });
    try {
      const auth = await api.authState();
      if (get().version === version) set({ auth, status: 'ready' });
    } catch (error) {
      if (get().version === version) set({ status: 'error', error: failure(error) });
    }
  },

  apply(auth) {
    set({ auth, status: 'ready', version: get().version + 1, ...(auth.state === 'signed-in' ? { error: null } : {}) });
  },

  async signIn() {
    set({ error: null });
    try {
      get().apply(await api.signIn());
    } catch (error) {
      await get().load();
      set({ error: failure(error) });
    }
  },

  async signOut() {
    try {
      get().apply(await api.signOut());
    } catch (error) {
      set({ error: failure(error) });
    }
  },
}));

function failure(error: unknown): { code: string; message: string } {
  return { code: error instanceof ApiError ? error.code : 'internal', message: errorMessage(error) };
}
