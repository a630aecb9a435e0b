import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuthState, IpcChannel, IpcHandlerMap, IpcResult, SessionEnded } from '../protocol/ipc-contract';
import type { ApiClient, ApiMethod } from './api-client';
import { createAuthController, type SignInPort } from './auth-controller';
import { ConsoleError } from './console-error';
import type { ConsoleFeed, FeedEvent } from './console-feed';
import { dispatchIpc } from './ipc-dispatch';
import { shouldShowNotice } from './session-notice';
import { createSignInPages } from './sign-in-pages';
import type { SignInState } from './sign-in-service';
import { createStepUpStore } from './step-up-store';
import { completeHandlers } from './test-support/handler-map';
import { manualClock, type ManualClock } from './test-support/manual-clock';
import { createAuthHandlers } from './auth-handlers';

/*
 * The console's sign-in lifecycle with a fake sign-in service, a fake feed and a clock the test
 * moves: signing in (and failing), the idle lock after the org's minutes without input, activity
 * postponing it with throttled heartbeats, revocation from the feed, refused calls while locked,
 * sign-out, and the api-token mode that never locks.
 */

const MINUTE = 60_000;
const ADMIN = { userId: randomUUID(), name: 'Ada Admin' };
const account = { tenantId: randomUUID(), objectId: randomUUID(), username: 'theo@clinic.test', name: 'Theo Tech' };

function sessionFor(clock: ManualClock, idleMinutes = 15): SignInState {
  const now = clock.now().getTime();
  return {
    account,
    session: {
      sessionId: randomUUID(),
      userId: randomUUID(),
      orgId: randomUUID(),
      created: false,
      times: {
        idleExpiresAt: new Date(now + idleMinutes * MINUTE).toISOString(),
        absoluteExpiresAt: new Date(now + 480 * MINUTE).toISOString(),
        idleRemainingSeconds: idleMinutes * 60,
        absoluteRemainingSeconds: 480 * 60,
      },
    },
  };
}

function fakeSignIn(clock: ManualClock, pages: ReturnType<typeof createSignInPages>) {
  const calls: string[] = [];
  let next: () => Promise<SignInState> = async () => sessionFor(clock);
  const service: SignInPort = {
    async signIn() {
      calls.push('signIn');
      await pages.open('https://login.example/tenant/oauth2/v2.0/authorize?client_id=x');
      return next();
    },
    async signOut() {
      calls.push('signOut');
    },
    forgetSession() {
      calls.push('forgetSession');
    },
    cachedAccount: async () => account,
  };
  return { service, calls, answer: (fn: () => Promise<SignInState>) => (next = fn) };
}

function fakeFeed() {
  const listeners = new Set<(event: FeedEvent) => void>();
  const log: string[] = [];
  const feed: ConsoleFeed & { emit(event: FeedEvent): void; log: string[] } = {
    start: () => void log.push('start'),
    stop: async () => void log.push('stop'),
    subscribe: () => undefined,
    state: () => ({ state: 'offline', detail: 'fake' }),
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event) => listeners.forEach((listener) => listener(event)),
    log,
  };
  return feed;
}

function fakeApi(clock: ManualClock) {
  const requests: Array<{ method: string; path: string; stepUp?: string }> = [];
  let refuse = false;
  const answer = (path: string): unknown => {
    if (refuse) throw new ConsoleError('unauthenticated', 'the server refused the credential');
    if (path === '/api/auth/heartbeat') {
      const now = clock.now().getTime();
      return { idleExpiresAt: new Date(now + 15 * MINUTE).toISOString(), absoluteExpiresAt: new Date(now + 400 * MINUTE).toISOString(), idleRemainingSeconds: 900, absoluteRemainingSeconds: 24000 };
    }
    return { orgs: [] };
  };
  const api: ApiClient = {
    async get(path, schema, options) {
      requests.push({ method: 'GET', path, ...options });
      return schema.parse(answer(path));
    },
    async send(method: ApiMethod, path, _body, schema, options) {
      requests.push({ method, path, ...options });
      return schema.parse(answer(path));
    },
    download: async () => {
      throw new ConsoleError('internal', 'not in this test');
    },
  };
  return { api, requests, refuseFromNowOn: () => (refuse = true) };
}

function setup(mode: 'sign-in' | 'api-token' = 'sign-in') {
  const clock = manualClock();
  const pages = createSignInPages();
  const signIn = fakeSignIn(clock, pages);
  const feed = fakeFeed();
  const { api, requests, refuseFromNowOn } = fakeApi(clock);
  const stepUps = createStepUpStore({ now: () => clock.now() });
  const ended: SessionEnded[] = [];
  const auth = createAuthController({
    mode: mode === 'sign-in' ? { kind: 'sign-in', service: signIn.service, pages } : { kind: 'api-token' },
    api,
    feed,
    stepUps,
    clock,
    onEnded: (e) => ended.push(e),
  });
  const states: AuthState[] = [];
  auth.on((state) => states.push(state));
  const handlers: IpcHandlerMap = auth.guard(
    completeHandlers({
      ...createAuthHandlers(auth),
      'app.info': async () => ({ name: 'RMM Console', version: '0', serverOrigin: 'https://rmm.test', host: 'browser-host' }),
      'connection.get': async () => feed.state(),
      'orgs.list': () => api.get('/api/orgs', z.object({ orgs: z.array(z.never()) })),
    }),
  );
  const call = <C extends IpcChannel>(channel: C, request: unknown = {}) => dispatchIpc(handlers, channel, request) as Promise<IpcResult<unknown>>;
  return { clock, signIn, feed, requests, refuseFromNowOn, stepUps, ended, auth, states, call };
}

async function signedIn(s: ReturnType<typeof setup>): Promise<void> {
  await s.auth.start();
  const result = await s.call('auth.signIn');
  expect(result).toMatchObject({ ok: true, value: { state: 'signed-in' } });
}

describe('auth controller, sign-in mode', () => {
  it('starts signed out with the cached account and refuses every other call without a request leaving main', async () => {
    const s = setup();
    await s.auth.start();
    expect(s.auth.state()).toMatchObject({ mode: 'sign-in', state: 'signed-out', account, session: null, ended: null });
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(await s.call('app.info')).toMatchObject({ ok: true });
    expect(await s.call('auth.state')).toMatchObject({ ok: true, value: { state: 'signed-out' } });
    expect(await s.call('auth.activity')).toEqual({ ok: true, value: { idleExpiresAt: null } });
    expect(s.requests).toEqual([]);
    expect(s.feed.log).toEqual([]);
  });

  it('signs in: signing-in with the provider page, then signed-in with the session; the feed starts with it', async () => {
    const s = setup();
    await signedIn(s);
    const signingIn = s.states.find((state) => state.state === 'signing-in' && state.signInUrl);
    expect(signingIn?.signInUrl).toBe('https://login.example/tenant/oauth2/v2.0/authorize?client_id=x');
    const state = s.auth.state();
    expect(state).toMatchObject({ state: 'signed-in', account, ended: null, signInUrl: null, error: null, session: { idleMinutes: 15 } });
    expect(s.feed.log).toEqual(['start']);
    expect(await s.call('orgs.list')).toEqual({ ok: true, value: { orgs: [] } });
  });

  it('a refused sign-in goes back to the previous state with the server’s code, and the call fails with it', async () => {
    const s = setup();
    await s.auth.start();
    s.signIn.answer(async () => {
      throw new ConsoleError('tenant_not_registered', 'Your organisation is not registered');
    });
    expect(await s.call('auth.signIn')).toMatchObject({ ok: false, error: { code: 'tenant_not_registered' } });
    expect(s.auth.state()).toMatchObject({ state: 'signed-out', account, signInUrl: null, error: { code: 'tenant_not_registered', message: 'Your organisation is not registered' } });
    expect(s.feed.log).toEqual([]);
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
  });

  it('locks after the idle minutes without input: session forgotten, feed stopped, proofs dropped, calls refused', async () => {
    const s = setup();
    await signedIn(s);
    s.stepUps.keep({ action: 'grants.change', proof: 'proof-1', expiresAt: new Date(s.clock.now().getTime() + 5 * MINUTE).toISOString() });
    s.clock.advance(15 * MINUTE - 1);
    expect(s.auth.state().state).toBe('signed-in');
    s.clock.advance(1);
    expect(s.auth.state()).toMatchObject({
      state: 'locked',
      session: null,
      account,
      ended: { kind: 'idle', reason: 'No activity for 15 minutes', by: null, at: s.clock.now().toISOString() },
    });
    expect(s.signIn.calls).toContain('forgetSession');
    expect(s.signIn.calls).not.toContain('signOut');
    expect(s.feed.log).toEqual(['start', 'stop']);
    expect(s.stepUps.held()).toEqual([]);
    expect(s.ended.map((e) => e.kind)).toEqual(['idle']);
    expect(shouldShowNotice(s.ended[0] as SessionEnded)).toBe(false);
    // Not a single heartbeat went out without activity.
    expect(s.requests).toEqual([]);
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated', message: expect.stringMatching(/locked/) } });
    expect(s.requests).toEqual([]);
  });

  it('input postpones the lock; heartbeats go at most once a minute of activity and never without it', async () => {
    const s = setup();
    await signedIn(s);
    const heartbeats = () => s.requests.filter((r) => r.path === '/api/auth/heartbeat').length;

    s.clock.advance(30_000);
    await s.call('auth.activity');
    expect(heartbeats()).toBe(0); // sign-in was 30 s ago: the server saw that
    s.clock.advance(31_000);
    const answer = await s.call('auth.activity');
    expect(heartbeats()).toBe(1);
    expect(answer).toEqual({ ok: true, value: { idleExpiresAt: new Date(s.clock.now().getTime() + 15 * MINUTE).toISOString() } });
    for (let i = 0; i < 5; i++) {
      s.clock.advance(10_000);
      await s.call('auth.activity');
    }
    expect(heartbeats()).toBe(1);
    s.clock.advance(10_000);
    await s.call('auth.activity');
    expect(heartbeats()).toBe(2);
    expect(s.auth.state().session?.times.absoluteRemainingSeconds).toBe(24000); // the heartbeat's answer

    const lastInput = s.clock.now().getTime();
    s.clock.advance(14 * MINUTE);
    expect(s.auth.state().state).toBe('signed-in');
    expect(heartbeats()).toBe(2); // quiet user, quiet console
    s.clock.advance(MINUTE);
    expect(s.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'idle', at: new Date(lastInput + 15 * MINUTE).toISOString() } });
  });

  it('input after the machine slept past the idle minutes locks instead of reviving the session', async () => {
    const s = setup();
    await signedIn(s);
    s.clock.jump(20 * MINUTE); // timers did not run while suspended
    expect(s.auth.state().state).toBe('signed-in');
    expect(await s.call('auth.activity')).toEqual({ ok: true, value: { idleExpiresAt: null } });
    expect(s.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'idle' } });
    expect(s.requests).toEqual([]);

    const t = setup();
    await signedIn(t);
    t.clock.jump(20 * MINUTE);
    expect(await t.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(t.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'idle' } });
    expect(t.requests).toEqual([]);
  });

  it('locks at once when the feed says the session was revoked, with who and why', async () => {
    const s = setup();
    await signedIn(s);
    s.feed.emit({ type: 'session.ended', ended: { kind: 'revoked', reason: 'Laptop reported stolen', by: ADMIN } });
    expect(s.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'revoked', reason: 'Laptop reported stolen', by: ADMIN } });
    expect(s.ended).toHaveLength(1);
    expect(shouldShowNotice(s.ended[0] as SessionEnded)).toBe(true);
    expect(s.feed.log).toEqual(['start', 'stop']);
    expect(s.signIn.calls).toContain('forgetSession');
    // A second notice for the same end (e.g. the close that follows the message) changes nothing.
    s.feed.emit({ type: 'credential.refused' });
    expect(s.ended).toHaveLength(1);
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
  });

  it('locks when an API call or the feed finds the session refused', async () => {
    const s = setup();
    await signedIn(s);
    s.refuseFromNowOn();
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(s.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'revoked', by: null } });

    const t = setup();
    await signedIn(t);
    t.clock.advance(2 * MINUTE);
    t.feed.emit({ type: 'credential.refused' });
    expect(t.auth.state()).toMatchObject({ state: 'locked', ended: { kind: 'revoked', reason: 'The server no longer accepts this session' } });
  });

  it('unlocks only through an interactive sign-in, as the same or another user', async () => {
    const s = setup();
    await signedIn(s);
    s.clock.advance(15 * MINUTE);
    expect(s.auth.state().state).toBe('locked');
    expect(s.signIn.calls.filter((c) => c === 'signIn')).toHaveLength(1);
    expect(await s.call('auth.signIn')).toMatchObject({ ok: true, value: { state: 'signed-in', ended: null } });
    expect(s.signIn.calls.filter((c) => c === 'signIn')).toHaveLength(2);
    expect(s.feed.log).toEqual(['start', 'stop', 'start']);
    // The new session has its own idle clock.
    s.clock.advance(14 * MINUTE);
    expect(s.auth.state().state).toBe('signed-in');
  });

  it('a failed unlock stays locked and keeps why it locked', async () => {
    const s = setup();
    await signedIn(s);
    s.feed.emit({ type: 'session.ended', ended: { kind: 'revoked', reason: 'Offboarding', by: ADMIN } });
    s.signIn.answer(async () => {
      throw new ConsoleError('unauthenticated', 'sign-in did not complete');
    });
    expect(await s.call('auth.signIn')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(s.auth.state()).toMatchObject({ state: 'locked', ended: { reason: 'Offboarding' }, error: { code: 'unauthenticated' } });
  });

  it('refuses a second sign-in while one is open', async () => {
    const s = setup();
    let finish: (value: SignInState) => void = () => undefined;
    s.signIn.answer(() => new Promise((resolve) => (finish = resolve)));
    const first = s.call('auth.signIn');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await s.call('auth.signIn')).toMatchObject({ ok: false, error: { code: 'conflict' } });
    finish(sessionFor(s.clock));
    expect(await first).toMatchObject({ ok: true, value: { state: 'signed-in' } });
  });

  it('signs out: the service ends the session and forgets the account; the feed’s own signed_out does not lock', async () => {
    const s = setup();
    await signedIn(s);
    expect(await s.call('auth.signOut')).toEqual({
      ok: true,
      value: { mode: 'sign-in', state: 'signed-out', account: null, session: null, ended: null, signInUrl: null, error: null },
    });
    expect(s.signIn.calls).toContain('signOut');
    s.feed.emit({ type: 'session.ended', ended: { kind: 'signed_out', reason: 'Signed out', by: null } });
    expect(s.auth.state().state).toBe('signed-out');
    expect(s.ended).toEqual([]);
    expect(s.feed.log).toEqual(['start', 'stop']);
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated', message: 'sign in first' } });
  });
});

describe('auth controller, api-token mode', () => {
  it('is always signed in, never locks and has no interactive sign-in', async () => {
    const s = setup('api-token');
    await s.auth.start();
    expect(s.feed.log).toEqual(['start']);
    expect(s.auth.state()).toEqual({ mode: 'api-token', state: 'signed-in', account: null, session: null, ended: null, signInUrl: null, error: null });
    s.clock.advance(24 * 60 * MINUTE);
    s.feed.emit({ type: 'credential.refused' });
    expect(s.auth.state().state).toBe('signed-in');
    expect(await s.call('orgs.list')).toEqual({ ok: true, value: { orgs: [] } });
    expect(await s.call('auth.signIn')).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await s.call('auth.signOut')).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await s.call('auth.activity')).toEqual({ ok: true, value: { idleExpiresAt: null } });
    s.refuseFromNowOn();
    expect(await s.call('orgs.list')).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(s.auth.state().state).toBe('signed-in');
    expect(s.states).toEqual([]);
  });
});
