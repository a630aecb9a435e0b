import { SessionTimes } from '../protocol/identity';
import type { AuthState, IpcChannel, IpcHandlerMap, SessionEnded } from '../protocol/ipc-contract';
import type { ApiClient } from './api-client';
import { ConsoleError, toIpcError } from './console-error';
import type { ConsoleFeed, Timers } from './console-feed';
import type { SignInPages } from './sign-in-pages';
import type { SignInService, SignInState } from './sign-in-service';
import type { StepUpStore } from './step-up-store';

/*
 * The console's sign-in state (AuthState), owned by main. Two modes:
 * - `api-token`: a token file is the credential (automation, tests): always signed in, never locks.
 * - `sign-in`: Azure AD through the SignInService. Starts signed out; `signIn` opens the provider's
 *   page and, once the server session is open, starts the live feed with it. The console locks
 *   itself (HIPAA automatic logoff) after the org's idle minutes without user input, and when the
 *   server ends the session (revoked, idle, absolute, signed out: `session.ended` on the feed, a
 *   4001 close, a 401 on the feed or on any API call). Locking forgets the session token, stops
 *   the feed, drops step-up proofs; unlocking is an interactive sign-in, never a silent renewal,
 *   so a locked console always means re-authentication.
 * Activity comes from the renderer (`auth.activity` on user input); a heartbeat tells the server
 * at most once per `heartbeatIntervalMs` of activity, never on a timer alone.
 */

export interface AuthClock extends Timers {
  now(): Date;
}

export const systemClock: AuthClock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What the controller uses of the sign-in service (tests give a fake). */
export type SignInPort = Pick<SignInService, 'signIn' | 'signOut' | 'forgetSession' | 'cachedAccount'>;

export type AuthMode = { kind: 'api-token' } | { kind: 'sign-in'; service: SignInPort; pages: SignInPages };

export interface AuthControllerOptions {
  mode: AuthMode;
  /** For the heartbeat (the credential is the session's). */
  api: ApiClient;
  feed: ConsoleFeed;
  stepUps: StepUpStore;
  clock?: AuthClock;
  /** At most one heartbeat per this much time with activity (default 60 s). */
  heartbeatIntervalMs?: number;
  /** Told when a session ends without the user signing out (cancel exports, show a notice). */
  onEnded?: (ended: SessionEnded) => void;
}

export interface AuthController {
  state(): AuthState;
  /** api-token: starts the feed; sign-in: reads the cached account (no server call). */
  start(): Promise<void>;
  /** Timers off (the feed is stopped by its owner). */
  stop(): void;
  signIn(): Promise<AuthState>;
  signOut(): Promise<AuthState>;
  activity(): Promise<{ idleExpiresAt: string | null }>;
  /** The handler map, refusing calls while not signed in and locking when the server refuses the session. */
  guard(handlers: IpcHandlerMap): IpcHandlerMap;
  /** Every state change. */
  on(listener: (state: AuthState) => void): () => void;
}

/** Channels that work without a session: what the sign-in screen itself needs. */
const WITHOUT_SESSION = new Set<IpcChannel>(['app.info', 'connection.get', 'auth.state', 'auth.signIn', 'auth.signOut', 'auth.activity']);

const MINUTE_MS = 60_000;

interface LiveSession {
  view: NonNullable<AuthState['session']>;
  idleMs: number;
  /** Local (monotonic enough) deadline for the absolute lifetime, from the remaining seconds at sign-in. */
  absoluteDeadline: number;
  lastActivity: number;
  lastHeartbeat: number;
  heartbeat: Promise<void> | null;
  timer: unknown;
}

export function createAuthController(options: AuthControllerOptions): AuthController {
  const { mode, api, feed, stepUps } = options;
  const clock = options.clock ?? systemClock;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? MINUTE_MS;
  const listeners = new Set<(state: AuthState) => void>();

  let state: AuthState =
    mode.kind === 'api-token'
      ? { mode: 'api-token', state: 'signed-in', account: null, session: null, ended: null, signInUrl: null, error: null }
      : { mode: 'sign-in', state: 'signed-out', account: null, session: null, ended: null, signInUrl: null, error: null };
  let live: LiveSession | null = null;
  /** Changes whenever a session starts or ends, so late answers from an older one are ignored. */
  let epoch = 0;
  let attempt = 0;
  let feedStopping: Promise<void> = Promise.resolve();

  const now = (): number => clock.now().getTime();
  /** Read through a call: `state` changes across awaits, which narrowing cannot see. */
  const phase = (): AuthState['state'] => state.state;
  const iso = (ms: number): string => new Date(ms).toISOString();

  const set = (next: AuthState): void => {
    state = next;
    for (const listener of listeners) listener(state);
  };

  const stopFeed = (): void => {
    feedStopping = feed.stop().catch(() => undefined);
  };

  const clearTimer = (): void => {
    if (live) clock.clearTimeout(live.timer);
  };

  /** Checks the deadlines and locks, or sleeps until the nearer one. */
  const schedule = (): void => {
    if (!live) return;
    clock.clearTimeout(live.timer);
    const at = now();
    const idleAt = live.lastActivity + live.idleMs;
    if (at >= live.absoluteDeadline) {
      lock({ kind: 'absolute', reason: 'The session reached its maximum lifetime', by: null });
      return;
    }
    if (at >= idleAt) {
      lock({ kind: 'idle', reason: `No activity for ${Math.round(live.idleMs / MINUTE_MS)} minutes`, by: null });
      return;
    }
    live.timer = clock.setTimeout(schedule, Math.min(idleAt, live.absoluteDeadline) - at);
  };

  /**
   * True (and locked) when a deadline passed without the timer noticing: timers do not run while
   * the machine sleeps, so input after a suspend must not revive an expired session.
   */
  const lapsed = (): boolean => {
    if (!live) return false;
    const at = now();
    if (at < live.lastActivity + live.idleMs && at < live.absoluteDeadline) return false;
    schedule();
    return true;
  };

  /** The session ended without the user signing out. Only a live session locks. */
  function lock(ended: Omit<SessionEnded, 'at'>): void {
    if (mode.kind !== 'sign-in' || state.state !== 'signed-in') return;
    const full: SessionEnded = { ...ended, at: clock.now().toISOString() };
    clearTimer();
    live = null;
    epoch++;
    mode.service.forgetSession();
    stepUps.clear();
    stopFeed();
    set({ ...state, state: 'locked', session: null, ended: full, signInUrl: null, error: null });
    options.onEnded?.(full);
  }

  /** A refused credential with no message saying why: the deadlines tell idle or absolute, else the server ended it. */
  const refusedSession = (): Omit<SessionEnded, 'at'> => {
    const at = now();
    if (live && at >= live.absoluteDeadline) return { kind: 'absolute', reason: 'The session reached its maximum lifetime', by: null };
    if (live && at >= live.lastActivity + live.idleMs) return { kind: 'idle', reason: `No activity for ${Math.round(live.idleMs / MINUTE_MS)} minutes`, by: null };
    return { kind: 'revoked', reason: 'The server no longer accepts this session', by: null };
  };

  feed.on((event) => {
    if (event.type === 'session.ended') lock(event.ended);
    else if (event.type === 'credential.refused') lock(refusedSession());
  });

  if (mode.kind === 'sign-in') {
    mode.pages.on((url) => {
      if (state.state === 'signing-in') set({ ...state, signInUrl: url });
    });
  }

  function opened(result: SignInState): void {
    const at = now();
    const idleMinutes = Math.max(1, Math.round(result.session.times.idleRemainingSeconds / 60));
    clearTimer();
    epoch++;
    stepUps.clear();
    live = {
      view: {
        sessionId: result.session.sessionId,
        userId: result.session.userId,
        orgId: result.session.orgId,
        idleMinutes,
        times: result.session.times,
      },
      idleMs: idleMinutes * MINUTE_MS,
      absoluteDeadline: at + result.session.times.absoluteRemainingSeconds * 1000,
      // Signing in is activity, and the server just saw it.
      lastActivity: at,
      lastHeartbeat: at,
      heartbeat: null,
      timer: undefined,
    };
    set({ mode: 'sign-in', state: 'signed-in', account: result.account, session: live.view, ended: null, signInUrl: null, error: null });
    schedule();
  }

  async function heartbeat(session: LiveSession): Promise<void> {
    const sent = epoch;
    try {
      const times = await api.send('POST', '/api/auth/heartbeat', undefined, SessionTimes);
      if (sent !== epoch || live !== session) return;
      session.view = { ...session.view, times };
      set({ ...state, session: session.view });
    } catch (error) {
      if (sent === epoch && error instanceof ConsoleError && error.code === 'unauthenticated') lock(refusedSession());
      // Otherwise (server unreachable): the next activity after the interval tries again.
    }
  }

  return {
    state: () => state,
    async start() {
      if (mode.kind === 'api-token') {
        feed.start();
        return;
      }
      const account = await mode.service.cachedAccount().catch(() => null);
      if (state.state === 'signed-out' && account) set({ ...state, account });
    },
    stop() {
      clearTimer();
    },
    async signIn() {
      if (mode.kind === 'api-token') throw new ConsoleError('bad_request', 'this console signs in with an API token');
      if (state.state === 'signing-in') throw new ConsoleError('conflict', 'a sign-in is already in progress');
      if (state.state === 'signed-in') return state;
      const previous = state;
      const mine = ++attempt;
      set({ ...state, state: 'signing-in', signInUrl: null, error: null });
      let result: SignInState;
      try {
        result = await mode.service.signIn();
      } catch (error) {
        if (mine === attempt && phase() === 'signing-in') set({ ...previous, signInUrl: null, error: toIpcError(error) });
        throw error;
      }
      if (mine !== attempt || phase() !== 'signing-in') {
        // Signed out while the browser was open: this session is not wanted.
        await mode.service.signOut().catch(() => undefined);
        throw new ConsoleError('conflict', 'signed out while the sign-in was open');
      }
      await feedStopping;
      opened(result);
      feed.start();
      return state;
    },
    async signOut() {
      if (mode.kind === 'api-token') throw new ConsoleError('bad_request', 'this console signs in with an API token');
      attempt++;
      clearTimer();
      live = null;
      epoch++;
      stepUps.clear();
      // Signed out first, so the feed's `session.ended` (signed_out) for this very sign-out does not lock.
      set({ mode: 'sign-in', state: 'signed-out', account: null, session: null, ended: null, signInUrl: null, error: null });
      stopFeed();
      await feedStopping;
      try {
        await mode.service.signOut();
      } catch (error) {
        // Signed out here regardless (token and account forgotten); say what the server did not take.
        set({ ...state, error: toIpcError(error) });
      }
      return state;
    },
    async activity() {
      const session = live;
      if (!session || state.state !== 'signed-in' || lapsed()) return { idleExpiresAt: null };
      const at = now();
      session.lastActivity = at;
      if (at - session.lastHeartbeat >= heartbeatIntervalMs && !session.heartbeat) {
        session.lastHeartbeat = at;
        session.heartbeat = heartbeat(session).finally(() => {
          session.heartbeat = null;
        });
        await session.heartbeat;
      }
      if (live !== session) return { idleExpiresAt: null };
      return { idleExpiresAt: iso(Math.min(session.lastActivity + session.idleMs, session.absoluteDeadline)) };
    },
    guard(handlers) {
      if (mode.kind === 'api-token') return handlers;
      const guarded = Object.fromEntries(
        (Object.entries(handlers) as Array<[IpcChannel, (request: unknown) => Promise<unknown>]>).map(([channel, handler]) => {
          if (WITHOUT_SESSION.has(channel)) return [channel, handler];
          const wrapped = async (request: unknown): Promise<unknown> => {
            if (state.state !== 'signed-in' || lapsed()) {
              throw new ConsoleError('unauthenticated', state.state === 'locked' ? 'the console is locked: sign in again' : 'sign in first');
            }
            const sent = epoch;
            try {
              return await handler(request);
            } catch (error) {
              if (sent === epoch && error instanceof ConsoleError && error.code === 'unauthenticated') lock(refusedSession());
              throw error;
            }
          };
          return [channel, wrapped];
        }),
      );
      return guarded as IpcHandlerMap;
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
