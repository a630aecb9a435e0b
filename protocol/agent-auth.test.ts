import { describe, expect, it } from 'vitest';
import {
  agentProof,
  deriveSessionKey,
  formatCredential,
  FrameChannel,
  fromBase64Url,
  newNonce,
  parseCredential,
  secretKey,
  serverProof,
  toBase64Url,
  verifyAgentProof,
  verifyServerProof,
} from './agent-auth';

const agentId = '3f1c2b9a-7d4e-4f3a-9c1b-2a6e8d5f0b17';
const secret = new Uint8Array(32).map((_, i) => i);

describe('agent credentials', () => {
  it('round-trips the id and secret, and tells a legacy bearer credential apart', () => {
    const credential = formatCredential(agentId, secret);
    expect(parseCredential(credential)).toEqual({ kind: 'v1', agentId, secret });
    expect(parseCredential(`rmm_agt_${toBase64Url(secret)}`)).toEqual({ kind: 'legacy' });
    expect(parseCredential('hunter2')).toEqual({ kind: 'invalid' });
    expect(parseCredential(`${credential}x`)).toEqual({ kind: 'invalid' });
  });

  it('encodes base64url without padding and back', () => {
    for (const length of [0, 1, 2, 31, 32, 33]) {
      const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length));
      expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      expect(toBase64Url(bytes)).not.toMatch(/[+/=]/);
    }
  });
});

describe('handshake proofs', () => {
  it('verifies each proof only under its own label, secret, agent and nonces', async () => {
    const key = await secretKey(secret);
    const inputs = { agentId, nonceA: newNonce(), nonceS: newNonce() };
    const server = await serverProof(key, inputs);
    const agent = await agentProof(key, inputs);
    expect(await verifyServerProof(key, inputs, server)).toBe(true);
    expect(await verifyAgentProof(key, inputs, agent)).toBe(true);
    // Reflection: a server proof is no agent proof, and the other way round.
    expect(await verifyAgentProof(key, inputs, server)).toBe(false);
    expect(await verifyServerProof(key, inputs, agent)).toBe(false);
    expect(await verifyServerProof(await secretKey(new Uint8Array(32)), inputs, server)).toBe(false);
    expect(await verifyServerProof(key, { ...inputs, nonceS: newNonce() }, server)).toBe(false);
    expect(await verifyServerProof(key, { ...inputs, agentId: '00000000-0000-4000-8000-000000000000' }, server)).toBe(false);
    expect(await verifyServerProof(key, { ...inputs, nonceA: inputs.nonceS, nonceS: inputs.nonceA }, server)).toBe(false);
  });

  it('draws a fresh 32-byte nonce every time', () => {
    const nonces = new Set(Array.from({ length: 100 }, () => toBase64Url(newNonce())));
    expect(nonces.size).toBe(100);
  });
});

describe('session frames', () => {
  async function pair(nonceS = newNonce()) {
    const nonceA = newNonce();
    const agent = new FrameChannel(await deriveSessionKey(secret, nonceA, nonceS), 'toServer');
    const server = new FrameChannel(await deriveSessionKey(secret, nonceA, nonceS), 'toAgent');
    return { agent, server };
  }

  it('numbers frames from 1 and accepts them in order, whatever the key order', async () => {
    const { agent, server } = await pair();
    const first = await agent.seal({ type: 'heartbeat', uptimeSeconds: 5 });
    const second = await agent.seal({ uptimeSeconds: 6, type: 'heartbeat' });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(await server.check(JSON.parse(JSON.stringify(first)))).toMatchObject({ ok: true });
    const reordered = Object.fromEntries(Object.entries(second).reverse());
    expect(await server.check(reordered)).toMatchObject({ ok: true });
  });

  it('refuses replayed, skipped, altered, unsealed and reflected frames', async () => {
    const { agent, server } = await pair();
    const one = await agent.seal({ type: 'heartbeat', uptimeSeconds: 1 });
    expect(await server.check({ ...one, uptimeSeconds: 2 })).toEqual({ ok: false, reason: 'bad_mac' });
    expect(await server.check(one)).toMatchObject({ ok: true });
    expect(await server.check(one)).toEqual({ ok: false, reason: 'bad_seq' });
    await agent.seal({ type: 'heartbeat', uptimeSeconds: 2 });
    const three = await agent.seal({ type: 'heartbeat', uptimeSeconds: 3 });
    expect(await server.check(three)).toEqual({ ok: false, reason: 'bad_seq' });
    expect(await server.check({ type: 'heartbeat', uptimeSeconds: 3 })).toEqual({ ok: false, reason: 'no_seq' });
    // A frame the server sealed is no agent frame (direction label), even at the right seq.
    const { server: fresh, agent: agentSide } = await pair();
    const echoed = await fresh.seal({ type: 'heartbeat', uptimeSeconds: 1 });
    expect(await fresh.check(echoed)).toEqual({ ok: false, reason: 'bad_mac' });
    expect(await agentSide.check(echoed)).toMatchObject({ ok: true });
  });

  it('derives another session key for other nonces', async () => {
    const a = await pair();
    const b = await pair();
    expect(await b.server.check(await a.agent.seal({ type: 'heartbeat', uptimeSeconds: 1 }))).toEqual({ ok: false, reason: 'bad_mac' });
  });
});
