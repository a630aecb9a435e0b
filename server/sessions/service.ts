import { appendAudit } from '../audit/log';
import type { Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { withScope } from '../db/database';
import { expiryAt, expiryReason, STAFF_SESSION_LIFETIMES, type Expiry, type SessionClock } from './lifetime';
import { endSession, findSession, sessionByToken, touchSession } from './store';

/*
 * Sessions as the request path sees them: `authenticate` turns an `rmm_ses_…` token into a
 * principal, refusing ended, expired or disabled ones at once (an expired one is ended and
 * audited on the spot). Activity is recorded in memory on every request and written to the
 * database at most once per `touchIntervalMs` per session, not once per request. A sweep every
 * `sweepIntervalMs` ends sessions this node has seen that went idle or ran out, so their console
 * sockets are told and closed even when no request arrives. Less often (`storedSweepIntervalMs`)
 * the database is swept too, org by org, for sessions no node is watching (never used after
 * sign-in, or left behind by a restart), so lists and the audit log do not show them as open.
 */

export interface SessionServiceOptions {
  touchIntervalMs?: number;
  sweepIntervalMs?: number;
  storedSweepIntervalMs?: number;
}

interface Tracked extends SessionClock {
  /** null: a staff session, kept in the platform scope. */
  orgId: string | null;
  persistedActivityAt: Date;
}

export interface SessionService {
  authenticate(token: string): Promise<Principal | undefined>;
  /** Ends sessions past their limits; the timer calls it, tests call it with a moved clock. */
  sweep(): Promise<number>;
  /** Ends open sessions in the database past their limits, in every org. */
  sweepStored(): Promise<number>;
  /** Writes pending activity (tests, shutdown). */
  flush(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createSessionService(server: ServerContext, options: SessionServiceOptions = {}): SessionService {
  const { db, clock, log, bus } = server;
  const touchIntervalMs = options.touchIntervalMs ?? 15_000;
  const sweepIntervalMs = options.sweepIntervalMs ?? 1000;
  const storedSweepIntervalMs = options.storedSweepIntervalMs ?? 60_000;
  const tracked = new Map<string, Tracked>();
  const pending = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let storedTimer: NodeJS.Timeout | undefined;

  const unsubscribe = bus.subscribe((event) => {
    if (event.type === 'session.ended') tracked.delete(event.sessionId);
  });

  function persistActivity(sessionId: string, entry: Tracked): void {
    entry.persistedActivityAt = entry.lastActivityAt;
    const at = entry.lastActivityAt;
    const write = withScope(db, { orgId: entry.orgId }, (tx) => touchSession(tx, sessionId, at))
      .catch((err: unknown) => log.error({ err, sessionId }, 'could not record session activity'))
      .finally(() => pending.delete(write));
    pending.add(write);
  }

  /** Ends the session for running out, audits it, tells its sockets. */
  async function expire(sessionId: string, orgId: string | null, kind: Expiry, lifetimes: Pick<SessionClock, 'idleMinutes' | 'absoluteMinutes'>): Promise<void> {
    const reason = expiryReason(kind, lifetimes);
    const ended = await withScope(db, { orgId }, async (tx) => {
      if (!(await endSession(tx, sessionId, { at: clock.now(), by: null, reason }))) return false;
      await appendAudit(tx, {
        orgId,
        actor: { type: 'system', name: 'session timeout' },
        action: 'session.expired',
        target: { type: 'session', id: sessionId },
        details: { sessionId, kind },
        time: clock.now(),
      });
      return true;
    });
    tracked.delete(sessionId);
    if (ended) bus.publish({ type: 'session.ended', orgId, sessionId, kind, reason, by: null });
  }

  async function authenticate(token: string): Promise<Principal | undefined> {
    const found = await sessionByToken(db, token);
    if (!found || found.endedAt !== null || found.userDisabled) return undefined;
    const now = clock.now();
    const known = tracked.get(found.sessionId);
    const lastActivityAt = known && known.lastActivityAt > found.lastActivityAt ? known.lastActivityAt : found.lastActivityAt;
    const state: SessionClock = { createdAt: found.createdAt, lastActivityAt, idleMinutes: found.idleMinutes, absoluteMinutes: found.absoluteMinutes };
    const expired = expiryAt(state, now);
    if (expired) {
      await expire(found.sessionId, found.orgId, expired, state);
      return undefined;
    }
    const entry: Tracked = {
      ...state,
      lastActivityAt: now,
      orgId: found.orgId,
      persistedActivityAt: known?.persistedActivityAt ?? found.lastActivityAt,
    };
    tracked.set(found.sessionId, entry);
    if (now.getTime() - entry.persistedActivityAt.getTime() >= touchIntervalMs) persistActivity(found.sessionId, entry);
    return {
      kind: 'user',
      userId: found.userId,
      displayName: found.displayName,
      email: found.email,
      platformAdmin: found.platformAdmin,
      homeOrgId: found.homeOrgId,
      tokenId: found.sessionId,
      sessionId: found.sessionId,
    };
  }

  async function sweep(): Promise<number> {
    const now = clock.now();
    let ended = 0;
    for (const [sessionId, entry] of [...tracked]) {
      if (!expiryAt(entry, now)) continue;
      // Another node may have seen activity since: the database has the last word.
      const stored = await withScope(db, { orgId: entry.orgId }, (tx) => findSession(tx, sessionId));
      if (!stored || stored.endedAt) {
        tracked.delete(sessionId);
        continue;
      }
      if (stored.lastActivityAt > entry.lastActivityAt) entry.lastActivityAt = stored.lastActivityAt;
      const kind = expiryAt(entry, now);
      if (!kind) continue;
      await expire(sessionId, entry.orgId, kind, entry);
      ended++;
    }
    return ended;
  }

  async function sweepStored(): Promise<number> {
    const now = clock.now();
    const orgs: Array<{ id: string | null; session_idle_minutes: number; session_absolute_minutes: number }> = [
      ...await db.selectFrom('orgs').select(['id', 'session_idle_minutes', 'session_absolute_minutes']).execute(),
      // Staff sessions (no org), in the platform scope.
      { id: null, session_idle_minutes: STAFF_SESSION_LIFETIMES.idleMinutes, session_absolute_minutes: STAFF_SESSION_LIFETIMES.absoluteMinutes },
    ];
    let ended = 0;
    for (const org of orgs) {
      const idleBefore = new Date(now.getTime() - org.session_idle_minutes * 60_000);
      const createdBefore = new Date(now.getTime() - org.session_absolute_minutes * 60_000);
      const candidates = await withScope(db, { orgId: org.id }, (tx) => tx.selectFrom('sessions')
        .select(['id', 'created_at', 'last_activity_at'])
        .where('ended_at', 'is', null)
        .where((eb) => eb.or([eb('last_activity_at', '<=', idleBefore), eb('created_at', '<=', createdBefore)]))
        .limit(1000).execute());
      for (const row of candidates) {
        const seen = tracked.get(row.id)?.lastActivityAt;
        const stored = new Date(row.last_activity_at);
        const state: SessionClock = {
          createdAt: new Date(row.created_at),
          lastActivityAt: seen && seen > stored ? seen : stored,
          idleMinutes: org.session_idle_minutes,
          absoluteMinutes: org.session_absolute_minutes,
        };
        const kind = expiryAt(state, now);
        if (!kind) continue; // activity this node has not written yet
        await expire(row.id, org.id, kind, state);
        ended++;
      }
    }
    return ended;
  }

  return {
    authenticate,
    sweep,
    sweepStored,
    async flush() {
      for (const [sessionId, entry] of tracked) {
        if (entry.lastActivityAt > entry.persistedActivityAt) persistActivity(sessionId, entry);
      }
      await Promise.all([...pending]);
    },
    start() {
      timer ??= setInterval(() => {
        sweep().catch((err: unknown) => log.error({ err }, 'session sweep failed'));
      }, sweepIntervalMs);
      timer.unref();
      storedTimer ??= setInterval(() => {
        sweepStored().catch((err: unknown) => log.error({ err }, 'stored session sweep failed'));
      }, storedSweepIntervalMs);
      storedTimer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      if (storedTimer) clearInterval(storedTimer);
      timer = undefined;
      storedTimer = undefined;
      unsubscribe();
      await Promise.all([...pending]);
    },
  };
}
