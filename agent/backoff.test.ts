import { describe, expect, it } from 'vitest';
import { classifyDisconnect, DEFAULT_BACKOFF, nextRetry } from './backoff';

const transient = { kind: 'transient', healthyForMs: 0 } as const;
const always = (value: number) => () => value;

describe('reconnect backoff', () => {
  it('doubles the ceiling per failed attempt up to the cap (full jitter at its top)', () => {
    let attempt = 0;
    const delays: number[] = [];
    for (let i = 0; i < 9; i += 1) {
      const plan = nextRetry(attempt, transient, DEFAULT_BACKOFF, always(0.999999));
      delays.push(Math.round(plan.delayMs / 1000));
      attempt = plan.attempt;
    }
    expect(delays).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
  });

  it('draws the delay uniformly below the ceiling', () => {
    expect(nextRetry(3, transient, DEFAULT_BACKOFF, always(0)).delayMs).toBe(0);
    expect(nextRetry(3, transient, DEFAULT_BACKOFF, always(0.5)).delayMs).toBe(4_000);
  });

  it('starts over after a connection that stayed healthy', () => {
    const plan = nextRetry(12, { kind: 'transient', healthyForMs: 30_000 }, DEFAULT_BACKOFF, always(0.999999));
    expect(plan).toEqual({ delayMs: 999, attempt: 1 });
  });

  it('keeps the exponent finite after very many attempts', () => {
    expect(nextRetry(10_000, transient, DEFAULT_BACKOFF, always(0.5)).delayMs).toBe(30_000);
  });

  it('retries a refusal at the slowest pace, jittered in the upper half of the cap', () => {
    const rejected = { kind: 'rejected', healthyForMs: 0 } as const;
    expect(nextRetry(0, rejected, DEFAULT_BACKOFF, always(0)).delayMs).toBe(30_000);
    expect(nextRetry(0, rejected, DEFAULT_BACKOFF, always(1)).delayMs).toBe(60_000);
  });
});

describe('classifying a disconnect', () => {
  const facts = { closeCode: null, serverError: null, trustFailure: false };

  it('stops on replacement, by close code or error frame', () => {
    expect(classifyDisconnect({ ...facts, closeCode: 4409 })).toBe('replaced');
    expect(classifyDisconnect({ ...facts, serverError: 'agent_replaced' })).toBe('replaced');
  });

  it('treats auth and version refusals and TLS trust failures as rejections', () => {
    expect(classifyDisconnect({ ...facts, closeCode: 4401 })).toBe('rejected');
    expect(classifyDisconnect({ ...facts, closeCode: 4426 })).toBe('rejected');
    expect(classifyDisconnect({ ...facts, serverError: 'agent_auth_failed', closeCode: 1006 })).toBe('rejected');
    expect(classifyDisconnect({ ...facts, serverError: 'protocol_unsupported_version' })).toBe('rejected');
    expect(classifyDisconnect({ ...facts, trustFailure: true, closeCode: 1006 })).toBe('rejected');
  });

  it('treats everything else as transient', () => {
    for (const closeCode of [1000, 1001, 1006, 1009, 4400, 4408, 4410]) {
      expect(classifyDisconnect({ ...facts, closeCode })).toBe('transient');
    }
    expect(classifyDisconnect({ ...facts, serverError: 'server_shutting_down' })).toBe('transient');
  });
});
