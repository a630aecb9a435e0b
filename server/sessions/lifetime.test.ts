import { describe, expect, it } from 'vitest';
import { deadlines, expiryAt, sessionTimes } from './lifetime';

const at = (minutes: number) => new Date(Date.UTC(2026, 10, 23, 8, 0) + minutes * 60_000);
const session = (lastActivityMinutes: number) => ({ createdAt: at(0), lastActivityAt: at(lastActivityMinutes), idleMinutes: 15, absoluteMinutes: 480 });

describe('session lifetimes', () => {
  it('ends 15 minutes after the last activity, to the millisecond', () => {
    expect(expiryAt(session(0), new Date(at(15).getTime() - 1))).toBeNull();
    expect(expiryAt(session(0), at(15))).toBe('idle');
    expect(expiryAt(session(10), at(24))).toBeNull();
  });

  it('ends 8 hours after sign-in however active, and says absolute rather than idle', () => {
    expect(expiryAt(session(479), at(479))).toBeNull();
    expect(expiryAt(session(479), at(480))).toBe('absolute');
    expect(expiryAt(session(0), at(600))).toBe('absolute');
  });

  it('the idle deadline never lies beyond the absolute one; remaining times do not go negative', () => {
    expect(deadlines(session(470)).idleExpiresAt).toEqual(at(480));
    expect(sessionTimes(session(0), at(5))).toEqual({
      idleExpiresAt: at(15).toISOString(),
      absoluteExpiresAt: at(480).toISOString(),
      idleRemainingSeconds: 600,
      absoluteRemainingSeconds: 475 * 60,
    });
    expect(sessionTimes(session(0), at(900))).toMatchObject({ idleRemainingSeconds: 0, absoluteRemainingSeconds: 0 });
  });
});
