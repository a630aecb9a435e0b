import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Clock } from '../server/clock';
import { startFakeTenantProvider, TEST_AUDIENCE, TEST_SCOPE, type FakeTenantProvider } from '../server/identity/testing';
import { totpCode } from '../server/mfa/testing';
import { getTestServer, type TestServer } from '../server/test-support';
import { databaseKinds } from '../tools/testing/postgres';
import type { AuthState, IpcChannel, IpcRequest, IpcResponse, IpcResult, SessionEnded } from '../protocol/ipc-contract';
import { createApiClient } from './api-client';
import { ConsoleError } from './console-error';
import { createConsoleServices, type ConsoleServices } from './console-services';
import { staticBearerToken } from './credentials';
import { dispatchIpc } from './ipc-dispatch';
import { createTrustResolver } from './server-trust';
import { createSessionExchange } from './session-exchange';
import { shouldShowNotice } from './session-notice';
import { createSignInPages, type SignInPages } from './sign-in-pages';
import type { SignInService, SignInState } from './sign-in-service';

/*
 * The console's sign-in lifecycle against a real server (PGlite and PostgreSQL) with real server
 * sessions: the access token comes from a fake Azure AD (server/identity/testing.ts; the real
 * MSAL flow is main/sign-in-service.test.ts), everything after it is the shipped code: the
 * session exchange, the guarded handler map, the live feed. An admin's console revokes a
 * member's session through `sessions.revoke` with a step-up, and the member's console locks
 * well within a second; sign-out ends the session at the server; the server's idle timeout
 * reaches the console as `session.ended`.
 */

const Me = z.object({ user: z.object({ id: z.string() }) });

describe.each(databaseKinds())('console sign-in lifecycle against the server on %s', (kind) => {
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs) };
  let idp: FakeTenantProvider;
  let t: TestServer;
  let orgId: string;
  let tenantId: string;
  let admin: ConsoleServices;
  const adminBackupCodes: string[] = [];
  const running: ConsoleServices[] = [];

  /** MSAL's part, faked: the provider's page "opens" and an access token for (tenant, oid) comes back. */
  function tokenSignIn(pages: SignInPages, who: { oid: string; name: string; tenant?: string }): SignInService {
    const serverUrl = new URL(t.server.url);
    const exchange = createSessionExchange({ serverUrl, trust: createTrustResolver({ kind: 'ca', caPem: t.ca }, serverUrl) });
    let held: { token: string; view: SignInState } | null = null;
    const tenant = who.tenant ?? tenantId;
    return {
      credentials: {
        async authorizationHeader() {
          if (!held) throw new ConsoleError('unauthenticated', 'not signed in');
          return `Bearer ${held.token}`;
        },
      },
      async signIn() {
        await pages.open(`${idp.authorityBase}/${tenant}/oauth2/v2.0/authorize?client_id=test`);
        const accessToken = await idp.token(tenant, { oid: who.oid, name: who.name, preferred_username: `${who.oid.slice(0, 8)}@clinic.test` });
        const { sessionToken, ...session } = await exchange.signIn(accessToken);
        held = { token: sessionToken, view: { account: { tenantId: tenant, objectId: who.oid, username: `${who.oid.slice(0, 8)}@clinic.test`, name: who.name }, session } };
        return held.view;
      },
      renew: async () => {
        throw new ConsoleError('unauthenticated', 'not in this test');
      },
      cachedAccount: async () => null,
      async signOut() {
        const ending = held;
        held = null;
        if (ending) await exchange.signOut(ending.token);
      },
      forgetSession() {
        held = null;
      },
      current: () => held?.view ?? null,
    };
  }

  function memberConsole(who: { oid: string; name: string; tenant?: string }) {
    const pages = createSignInPages();
    const service = tokenSignIn(pages, who);
    const ended: SessionEnded[] = [];
    const services = createConsoleServices({
      serverUrl: new URL(t.server.url),
      trust: { kind: 'ca', caPem: t.ca },
      signIn: { service, pages },
      host: 'browser-host',
      feed: { backoff: { initialMs: 50, maxMs: 200 } },
      heartbeatIntervalMs: 0,
      onSessionEnded: (e) => ended.push(e),
    });
    running.push(services);
    const states: AuthState[] = [];
    services.events.subscribe((envelope) => {
      if (envelope.event === 'auth.state') states.push(envelope.payload);
    });
    services.start();
    return { services, service, states, ended };
  }

  async function call<C extends IpcChannel>(services: ConsoleServices, channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>> {
    return (await dispatchIpc(services.handlers, channel, request)) as IpcResult<IpcResponse<C>>;
  }
  async function value<C extends IpcChannel>(services: ConsoleServices, channel: C, request: IpcRequest<C>): Promise<IpcResponse<C>> {
    const result = await call(services, channel, request);
    if (!result.ok) throw new Error(`${channel}: ${result.error.code} ${result.error.message}`);
    return result.value;
  }
  async function statusWith(token: string): Promise<number> {
    const serverUrl = new URL(t.server.url);
    const api = createApiClient({ serverUrl, trust: createTrustResolver({ kind: 'ca', caPem: t.ca }, serverUrl), credentials: staticBearerToken(token) });
    return api.get('/api/me', Me).then(
      () => 200,
      (error: unknown) => (error instanceof ConsoleError && error.code === 'unauthenticated' ? 401 : 500),
    );
  }

  beforeAll(async () => {
    idp = await startFakeTenantProvider(clock);
    t = await getTestServer(kind, { authAuthorityBase: idp.authorityBase, authAudience: TEST_AUDIENCE, authScope: TEST_SCOPE, authCaFile: idp.caFile }, clock);
    orgId = (await t.buildOrg('Clinic (console lifecycle)')).id;
    tenantId = await idp.addTenant();
    // The admin's console runs on the operator's API token; it enrols TOTP and registers the tenant with a step-up.
    admin = createConsoleServices({ serverUrl: new URL(t.server.url), trust: { kind: 'ca', caPem: t.ca }, credentials: staticBearerToken(t.token), host: 'browser-host' });
    running.push(admin);
    const { secret } = await value(admin, 'mfa.enrol', {});
    adminBackupCodes.push(...(await value(admin, 'mfa.confirm', { code: await totpCode(secret, clock.now()) })).backupCodes);
    await value(admin, 'mfa.stepUp', { action: 'org.security_settings', backupCode: adminBackupCodes.pop() ?? '' });
    await value(admin, 'identity.update', { orgId, azureTenantId: tenantId, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 });
  });

  afterAll(async () => {
    await Promise.all(running.map((services) => services.stop()));
    await t?.close();
    await idp?.close();
  });

  it('signs in through the provider page: signing-in with its URL, then the session; calls work, the feed is online', async () => {
    const member = memberConsole({ oid: randomUUID(), name: 'Mia Member' });
    await vi.waitFor(() => expect(member.services.auth.state().state).toBe('signed-out'));
    expect(await call(member.services, 'orgs.list', {})).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });

    const state = await value(member.services, 'auth.signIn', {});
    expect(member.states.find((s) => s.state === 'signing-in' && s.signInUrl)?.signInUrl).toMatch(/oauth2\/v2\.0\/authorize/);
    expect(state).toMatchObject({ mode: 'sign-in', state: 'signed-in', account: { name: 'Mia Member' }, session: { orgId, idleMinutes: 15 }, ended: null, error: null });
    expect((await value(member.services, 'orgs.list', {})).orgs.map((o) => o.id)).toEqual([orgId]);
    expect((await value(member.services, 'sessions.mine', {})).sessions).toEqual([expect.objectContaining({ id: state.session?.sessionId, current: true })]);
    await vi.waitFor(() => expect(member.services.feed.state().state).toBe('online'));

    // Activity reaches the server as a heartbeat (interval 0 here) and answers when the console will lock.
    const activity = await value(member.services, 'auth.activity', {});
    expect(Date.parse(activity.idleExpiresAt ?? '')).toBeGreaterThan(Date.now() + 14 * 60_000);
  });

  it('an admin revokes the session from another console (with step-up) and the member’s console locks within a second', async () => {
    const member = memberConsole({ oid: randomUUID(), name: 'Rex Revoked' });
    const signedIn = await value(member.services, 'auth.signIn', {});
    const sessionId = signedIn.session?.sessionId ?? '';
    const token = await member.service.credentials.authorizationHeader();
    await vi.waitFor(() => expect(member.services.feed.state().state).toBe('online'));

    const listed = await value(admin, 'sessions.list', { orgId });
    expect(listed.sessions.map((s) => s.id)).toContain(sessionId);
    expect(await call(admin, 'sessions.revoke', { orgId, sessionId, reason: 'Laptop reported stolen' })).toMatchObject({ ok: false, error: { code: 'step_up_required' } });
    expect(member.services.auth.state().state).toBe('signed-in');
    await value(admin, 'mfa.stepUp', { action: 'sessions.revoke_other', backupCode: adminBackupCodes.pop() ?? '' });

    const locked = new Promise<number>((resolve) => {
      const stop = member.services.auth.on((state) => {
        if (state.state === 'locked') {
          stop();
          resolve(performance.now());
        }
      });
    });
    const sent = performance.now();
    expect(await value(admin, 'sessions.revoke', { orgId, sessionId, reason: 'Laptop reported stolen' })).toMatchObject({ id: sessionId });
    const elapsed = (await locked) - sent;
    console.info(`[auth-lifecycle ${kind}] revoke -> locked console: ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(1000);

    const state = member.services.auth.state();
    expect(state).toMatchObject({ state: 'locked', session: null, ended: { kind: 'revoked', reason: 'Laptop reported stolen', by: { name: 'Operator' } } });
    expect(member.ended).toHaveLength(1);
    expect(shouldShowNotice(member.ended[0] as SessionEnded)).toBe(true);
    // Locked means: no credential left in main, no request leaves, the feed stays down.
    await expect(member.service.credentials.authorizationHeader()).rejects.toThrow(/not signed in/);
    expect(await call(member.services, 'orgs.list', {})).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    expect(member.services.feed.state()).toMatchObject({ state: 'offline' });
    expect(await statusWith(token.replace(/^Bearer /, ''))).toBe(401);
    // The renderer only ever learned the session's ids, never its token.
    expect(JSON.stringify(member.states)).not.toContain(token.replace(/^Bearer /, ''));

    // Unlocking is a new interactive sign-in.
    expect(await value(member.services, 'auth.signIn', {})).toMatchObject({ state: 'signed-in', ended: null });
    expect((await value(member.services, 'orgs.list', {})).orgs).toHaveLength(1);
  });

  it('an unregistered tenant is refused: back to signed-out with tenant_not_registered', async () => {
    const member = memberConsole({ oid: randomUUID(), name: 'Uma Unknown', tenant: await idp.addTenant() });
    expect(await call(member.services, 'auth.signIn', {})).toMatchObject({ ok: false, error: { code: 'tenant_not_registered' } });
    expect(member.services.auth.state()).toMatchObject({ state: 'signed-out', session: null, error: { code: 'tenant_not_registered' } });
  });

  it('signs out: the server session ends at once and the console does not lock', async () => {
    const member = memberConsole({ oid: randomUUID(), name: 'Sam Signout' });
    await value(member.services, 'auth.signIn', {});
    const token = (await member.service.credentials.authorizationHeader()).replace(/^Bearer /, '');
    await vi.waitFor(() => expect(member.services.feed.state().state).toBe('online'));
    expect(await value(member.services, 'auth.signOut', {})).toMatchObject({ state: 'signed-out', account: null, error: null });
    expect(await statusWith(token)).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(member.services.auth.state().state).toBe('signed-out');
    expect(member.ended).toEqual([]);
  });

  it('the server’s idle timeout reaches the console as session.ended and locks it', async () => {
    const member = memberConsole({ oid: randomUUID(), name: 'Ida Idle' });
    await value(member.services, 'auth.signIn', {});
    await vi.waitFor(() => expect(member.services.feed.state().state).toBe('online'));
    // The server's clock moves past the idle timeout; its sweep (every second) ends the session.
    offsetMs += 16 * 60_000;
    await vi.waitFor(() => expect(member.services.auth.state().state).toBe('locked'), { timeout: 5000 });
    expect(member.services.auth.state().ended).toMatchObject({ kind: 'idle', reason: 'No activity for 15 minutes', by: null });
    expect(shouldShowNotice(member.ended[0] as SessionEnded)).toBe(false);
  });
});
