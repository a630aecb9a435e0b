import type { SessionTimes } from '../../protocol/identity';

/** When a session ends: pure arithmetic over its times and its org's lifetimes. */

export interface SessionClock {
  createdAt: Date;
  lastActivityAt: Date;
  idleMinutes: number;
  absoluteMinutes: number;
}

export type Expiry = 'idle' | 'absolute';

const MINUTE = 60_000;

/** Lifetimes of MSP staff sessions, which belong to no org (rmm_session_by_token, migration 0008). */
export const STAFF_SESSION_LIFETIMES = { idleMinutes: 15, absoluteMinutes: 480 } as const;

export function deadlines(session: SessionClock): { idleExpiresAt: Date; absoluteExpiresAt: Date } {
  const absoluteExpiresAt = new Date(session.createdAt.getTime() + session.absoluteMinutes * MINUTE);
  const idle = session.lastActivityAt.getTime() + session.idleMinutes * MINUTE;
  return { idleExpiresAt: new Date(Math.min(idle, absoluteExpiresAt.getTime())), absoluteExpiresAt };
}

/** Which limit has run out at `now` (absolute first), or null while the session is alive. */
export function expiryAt(session: SessionClock, now: Date): Expiry | null {
  const { idleExpiresAt, absoluteExpiresAt } = deadlines(session);
  if (now.getTime() >= absoluteExpiresAt.getTime()) return 'absolute';
  if (now.getTime() >= idleExpiresAt.getTime()) return 'idle';
  return null;
}

export function sessionTimes(session: SessionClock, now: Date): SessionTimes {
  const { idleExpiresAt, absoluteExpiresAt } = deadlines(session);
  const remaining = (at: Date) => Math.max(0, Math.floor((at.getTime() - now.getTime()) / 1000));
  return {
    idleExpiresAt: idleExpiresAt.toISOString(),
    absoluteExpiresAt: absoluteExpiresAt.toISOString(),
    idleRemainingSeconds: remaining(idleExpiresAt),
    absoluteRemainingSeconds: remaining(absoluteExpiresAt),
  };
}

export function expiryReason(kind: Expiry, session: Pick<SessionClock, 'idleMinutes' | 'absoluteMinutes'>): string {
  return kind === 'idle'
    ? `No activity for ${session.idleMinutes} minutes`
    : `Signed in for the maximum of ${session.absoluteMinutes} minutes`;
}
