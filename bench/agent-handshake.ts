/*
 * Agent handshake cost: the mutual challenge-response (hello → challenge → proof → welcome, with
 * the server's agent lookup, unsealing and both HMAC proofs, and the welcome's MAC checked) against
 * a baseline of a raw `ws` connect plus one echoed round trip to a bare WebSocket server, both over
 * TLS on loopback in the same run. The middle row stops at the challenge: one round trip through
 * the real gateway, roughly what the old bearer-token hello cost.
 *
 *   npx tsx bench/agent-handshake.ts [--handshakes 200] [--warmup 20]
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import { makeCertificate } from '../agent/test-support/agent-server';
import { mutualHandshake } from '../agent/handshake';
import { newNonce, parseCredential, toBase64Url } from '../protocol/agent-auth';
import { ServerToAgent } from '../protocol/agent-messages';
import { PROTOCOL_VERSION } from '../protocol/version';
import { getTestServer } from '../server/test-support';

const { values: flags } = parseArgs({ options: { handshakes: { type: 'string', default: '200' }, warmup: { type: 'string', default: '20' } } });
const N = Number(flags.handshakes);
const WARMUP = Number(flags.warmup);
if (![N, WARMUP].every((n) => Number.isInteger(n) && n >= 0) || N < 1) throw new Error('--handshakes must be a positive integer, --warmup a non-negative one');

/** Resolves with each frame in turn; rejects if the socket closes first. */
function frames(ws: WebSocket): () => Promise<{ raw: unknown; message: ServerToAgent }> {
  const queue: string[] = [];
  const waiters: Array<(text: string | null) => void> = [];
  ws.on('message', (data) => {
    const waiter = waiters.shift();
    if (waiter) waiter(String(data));
    else queue.push(String(data));
  });
  ws.on('close', () => {
    for (const waiter of waiters.splice(0)) waiter(null);
  });
  return async () => {
    const text = queue.shift() ?? (await new Promise<string | null>((resolve) => waiters.push(resolve)));
    if (text === null) throw new Error('closed');
    const raw: unknown = JSON.parse(text);
    return { raw, message: ServerToAgent.parse(raw) };
  };
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function closeAndWait(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
  });
}

function summarize(label: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { variant: label, n: sorted.length, 'median ms': at(0.5).toFixed(2), 'p95 ms': at(0.95).toFixed(2), 'max ms': (sorted.at(-1) ?? Number.NaN).toFixed(2) };
}

async function measure(run: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i += 1) await run();
  const samples: number[] = [];
  for (let i = 0; i < N; i += 1) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return samples;
}

const t = await getTestServer('pglite');
const orgId = (await t.buildOrg('Bench Clinic')).id;
const unitId = (await t.buildUnit(orgId, 'Bench')).id;
const { credential } = await t.buildAgent(orgId, unitId);
const parsed = parseCredential(credential);
if (parsed.kind !== 'v1') throw new Error('unexpected credential');
const { agentId } = parsed;
const agentUrl = `${t.server.url.replace('https:', 'wss:')}/ws/agent`;

// Baseline: a bare WebSocket server with its own certificate, echoing one frame.
const cert = await makeCertificate();
const https = createServer({ cert: cert.cert, key: cert.key });
const wss = new WebSocketServer({ server: https, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(String(data))));
await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
const baselineUrl = `wss://127.0.0.1:${(https.address() as AddressInfo).port}/`;

const baseline = await measure(async () => {
  const ws = new WebSocket(baselineUrl, { ca: cert.cert, perMessageDeflate: false });
  const next = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  await opened(ws);
  ws.send(JSON.stringify({ type: 'ping', nonce: toBase64Url(newNonce()) }));
  await next;
  await closeAndWait(ws);
});

const hello = (nonceA: Uint8Array) => JSON.stringify({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentVersion: 'bench', agentId, nonceA: toBase64Url(nonceA) });

const toChallenge = await measure(async () => {
  const ws = new WebSocket(agentUrl, { ca: t.ca, perMessageDeflate: false });
  const next = frames(ws);
  await opened(ws);
  ws.send(hello(newNonce()));
  if ((await next()).message.type !== 'challenge') throw new Error('no challenge');
  await closeAndWait(ws);
});

// The agent's own handshake code (agent/handshake.ts), over a bare transport.
const mutual = await measure(async () => {
  const ws = new WebSocket(agentUrl, { ca: t.ca, perMessageDeflate: false });
  const next = frames(ws);
  await opened(ws);
  await mutualHandshake(credential, 10_000)({ send: (message) => ws.send(JSON.stringify(message)), receive: () => next() });
  await closeAndWait(ws);
});

console.log(`agent handshake, ${N} each after ${WARMUP} warm-up, TLS on loopback, PGlite, node ${process.version}`);
console.table([
  summarize('baseline: raw ws connect + 1 echo', baseline),
  summarize('gateway: connect + hello → challenge', toChallenge),
  summarize('mutual handshake: connect → welcome', mutual),
]);
await new Promise<void>((resolve) => wss.close(() => resolve()));
https.close();
await t.close();
