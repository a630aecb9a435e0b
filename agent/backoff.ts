import { AgentCloseCode } from '../protocol/agent-messages';

/*
 * When to reconnect. Pure functions with the random source injected, so the schedule is tested
 * without clocks or sockets.
 */

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** A connection that stayed up this long after `welcome` resets the schedule. */
  healthyAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000, healthyAfterMs: 30_000 };

/**
 * - `transient`: network trouble, server restart, timeout: exponential backoff.
 * - `rejected`: the server (or TLS trust) said no; retrying soon cannot help, but an admin may fix
 *   it, so keep trying at the slowest pace.
 * - `replaced`: another agent with the same credential took over; retrying would fight it.
 */
export type DisconnectKind = 'transient' | 'rejected' | 'replaced';

export interface RetryPlan {
  delayMs: number;
  /** Attempt counter to pass to the next call. */
  attempt: number;
}

/** Beyond this the exponential term is far past any sane cap; keeps 2**n finite. */
const MAX_EXPONENT = 30;

/**
 * Full jitter (delay uniform in [0, min(cap, base * 2^attempt)]): spreads thousands of agents
 * reconnecting after a server restart instead of having them arrive in waves.
 */
export function nextRetry(
  previousAttempt: number,
  outcome: { kind: Exclude<DisconnectKind, 'replaced'>; healthyForMs: number },
  policy: BackoffPolicy,
  random: () => number,
): RetryPlan {
  const attempt = outcome.healthyForMs >= policy.healthyAfterMs ? 0 : previousAttempt;
  if (outcome.kind === 'rejected') {
    // Half-jittered around the cap: slow, but still spread out when an admin fixes the server.
    return { delayMs: Math.floor(policy.capMs * (0.5 + 0.5 * random())), attempt };
  }
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, MAX_EXPONENT));
  return { delayMs: Math.floor(random() * ceiling), attempt: attempt + 1 };
}

export interface DisconnectFacts {
  closeCode: number | null;
  /** `code` of an `error` frame the server sent before closing, if any. */
  serverError: string | null;
  /** The TLS trust check failed (pin mismatch or untrusted certificate). */
  trustFailure: boolean;
}

const REJECTING_CLOSE_CODES: ReadonlySet<number> = new Set([AgentCloseCode.authFailed, AgentCloseCode.unsupportedVersion]);
const REJECTING_ERRORS: ReadonlySet<string> = new Set(['agent_auth_failed', 'agent_reenrol_required', 'protocol_unsupported_version']);

export function classifyDisconnect(facts: DisconnectFacts): DisconnectKind {
  if (facts.closeCode === AgentCloseCode.replaced || facts.serverError === 'agent_replaced') return 'replaced';
  if (facts.trustFailure) return 'rejected';
  if (facts.closeCode !== null && REJECTING_CLOSE_CODES.has(facts.closeCode)) return 'rejected';
  if (facts.serverError !== null && REJECTING_ERRORS.has(facts.serverError)) return 'rejected';
  return 'transient';
}
