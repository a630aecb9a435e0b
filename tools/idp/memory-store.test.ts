import { describe, expect, it } from 'vitest';
import { DevIdpMemoryStore } from './memory-store';

function movableClock(start: number) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describe('dev provider memory store', () => {
  it('forgets entries at their expiry by the injected clock', async () => {
    const clock = movableClock(1_000_000);
    const codes = new DevIdpMemoryStore(clock).adapterFor('AuthorizationCode');
    await codes.upsert('c1', { accountId: 'a' }, 60);
    expect(await codes.find('c1')).toMatchObject({ accountId: 'a' });
    clock.advance(59_000);
    expect(await codes.find('c1')).toBeDefined();
    clock.advance(1_000);
    expect(await codes.find('c1')).toBeUndefined();
  });

  it('keeps models apart and marks consumed entries', async () => {
    const store = new DevIdpMemoryStore(movableClock(0));
    const codes = store.adapterFor('AuthorizationCode');
    const tokens = store.adapterFor('RefreshToken');
    await codes.upsert('same', { accountId: 'code' }, 60);
    await tokens.upsert('same', { accountId: 'token' }, 60);
    expect(await codes.find('same')).toMatchObject({ accountId: 'code' });
    await codes.consume('same');
    expect((await codes.find('same'))?.consumed).toBe(0);
    expect((await tokens.find('same'))?.consumed).toBeUndefined();
  });

  it('revokes everything of a grant, across models', async () => {
    const store = new DevIdpMemoryStore(movableClock(0));
    const codes = store.adapterFor('AuthorizationCode');
    const tokens = store.adapterFor('RefreshToken');
    await codes.upsert('c', { grantId: 'g1' }, 60);
    await tokens.upsert('r', { grantId: 'g1' }, 600);
    await tokens.upsert('other', { grantId: 'g2' }, 600);
    await tokens.revokeByGrantId('g1');
    expect(await codes.find('c')).toBeUndefined();
    expect(await tokens.find('r')).toBeUndefined();
    expect(await tokens.find('other')).toBeDefined();
  });

  it('finds sessions by uid', async () => {
    const sessions = new DevIdpMemoryStore(movableClock(0)).adapterFor('Session');
    await sessions.upsert('s1', { uid: 'u1', accountId: 'a' }, 60);
    expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'a' });
    expect(await sessions.findByUid('u2')).toBeUndefined();
    await sessions.destroy('s1');
    expect(await sessions.findByUid('u1')).toBeUndefined();
  });
});
