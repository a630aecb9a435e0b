import type { AuthClock } from '../auth-controller';

/*
 * Time the test moves: `advance(ms)` runs every timer that falls due, in order, so a 15-minute
 * idle lock takes no real time.
 */

export interface ManualClock extends AuthClock {
  advance(ms: number): void;
  /** Moves the wall clock without running timers, as a suspended machine wakes up. */
  jump(ms: number): void;
  /** Timers still waiting. */
  pending(): number;
}

export function manualClock(start = new Date('2025-03-01T09:00:00.000Z')): ManualClock {
  let current = start.getTime();
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => new Date(current),
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: current + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      if (typeof handle === 'number') timers.delete(handle);
    },
    advance(ms) {
      const until = current + ms;
      for (;;) {
        const due = [...timers].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        const [id, timer] = due;
        timers.delete(id);
        current = Math.max(current, timer.at);
        timer.fn();
      }
      current = until;
    },
    jump(ms) {
      current += ms;
    },
    pending: () => timers.size,
  };
}
