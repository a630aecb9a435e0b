import { type CanonicalValue, canonicalBytes } from './canonical-json';

/*
 * Mutual authentication between agent and server (docs/agent.md, "Mutual authentication"). Both
 * hold the agent's 256-bit secret; neither ever sends it. The server proves first, so a server
 * without the secret (a TLS-intercepting proxy, a stolen certificate) cannot command an agent.
 * Every later frame carries a per-direction sequence number and an HMAC under a session key
 * derived from the secret and both nonces. WebCrypto only: this runs in the agent and the server.
 */

export const SERVER_PROOF_LABEL = 'rmm/v1/server-proof';
export const AGENT_PROOF_LABEL = 'rmm/v1/agent-proof';
export const SESSION_INFO = 'rmm/v1/session';
export const FRAME_LABEL = { toServer: 'rmm/v1/frame/agent-to-server', toAgent: 'rmm/v1/frame/server-to-agent' } as const;
export type FrameDirection = keyof typeof FRAME_LABEL;

export const NONCE_BYTES = 32;
export const SECRET_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
export const B64_32 = /^[A-Za-z0-9_-]{43}$/;

const CREDENTIAL_PREFIX = 'rmm_agt_';
const CREDENTIAL = /^rmm_agt_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{43})$/;

const subtle = globalThis.crypto.subtle;
const utf8 = (text: string) => new TextEncoder().encode(text);

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** A fresh nonce from the CSPRNG; callers never reuse one. */
export function newNonce(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
}

/** The credential an agent is provisioned with: its id (sent in `hello`) and its secret (never sent). */
export function formatCredential(agentId: string, secret: Uint8Array): string {
  if (secret.length !== SECRET_BYTES) throw new Error('agent secret must be 32 bytes');
  return `${CREDENTIAL_PREFIX}${agentId}.${toBase64Url(secret)}`;
}

export type ParsedCredential = { kind: 'v1'; agentId: string; secret: Uint8Array } | { kind: 'legacy' } | { kind: 'invalid' };

/** `legacy`: a bearer credential from before mutual authentication; it cannot prove anything and must be re-enrolled. */
export function parseCredential(credential: string): ParsedCredential {
  const match = CREDENTIAL.exec(credential);
  if (match?.[1] && match[2]) return { kind: 'v1', agentId: match[1], secret: fromBase64Url(match[2]) };
  if (/^rmm_agt_[A-Za-z0-9_-]{43}$/.test(credential)) return { kind: 'legacy' };
  return { kind: 'invalid' };
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function hmacKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('raw', concat([raw]), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** The agent's secret as an HMAC key, imported once per connection. */
export function secretKey(secret: Uint8Array): Promise<CryptoKey> {
  if (secret.length !== SECRET_BYTES) throw new Error('agent secret must be 32 bytes');
  return hmacKey(secret);
}

/*
 * label || 0x00 || agentId || first nonce || second nonce. Every field after the label has a
 * fixed length (36-char uuid, 32-byte nonces), so no two inputs share an encoding. The agent's
 * proof takes the nonces in the other order and another label: a server proof never passes as an
 * agent proof (reflection).
 */
function proofInput(label: string, agentId: string, first: Uint8Array, second: Uint8Array): Uint8Array<ArrayBuffer> {
  if (first.length !== NONCE_BYTES || second.length !== NONCE_BYTES) throw new Error('nonces must be 32 bytes');
  return concat([utf8(label), new Uint8Array([0]), utf8(agentId), first, second]);
}

export interface ProofInputs {
  agentId: string;
  nonceA: Uint8Array;
  nonceS: Uint8Array;
}

export async function serverProof(key: CryptoKey, p: ProofInputs): Promise<Uint8Array> {
  return new Uint8Array(await subtle.sign('HMAC', key, proofInput(SERVER_PROOF_LABEL, p.agentId, p.nonceA, p.nonceS)));
}

export async function agentProof(key: CryptoKey, p: ProofInputs): Promise<Uint8Array> {
  return new Uint8Array(await subtle.sign('HMAC', key, proofInput(AGENT_PROOF_LABEL, p.agentId, p.nonceS, p.nonceA)));
}

// subtle.verify compares in constant time.
export function verifyServerProof(key: CryptoKey, p: ProofInputs, proof: Uint8Array): Promise<boolean> {
  return subtle.verify('HMAC', key, concat([proof]), proofInput(SERVER_PROOF_LABEL, p.agentId, p.nonceA, p.nonceS));
}

export function verifyAgentProof(key: CryptoKey, p: ProofInputs, proof: Uint8Array): Promise<boolean> {
  return subtle.verify('HMAC', key, concat([proof]), proofInput(AGENT_PROOF_LABEL, p.agentId, p.nonceS, p.nonceA));
}

/** HKDF-SHA256(secret, salt = nonceA || nonceS, info = rmm/v1/session) → 32-byte HMAC key. */
export async function deriveSessionKey(secret: Uint8Array, nonceA: Uint8Array, nonceS: Uint8Array): Promise<CryptoKey> {
  const ikm = await subtle.importKey('raw', concat([secret]), 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: concat([nonceA, nonceS]), info: utf8(SESSION_INFO) }, ikm, 256);
  return hmacKey(new Uint8Array(bits));
}

function frameInput(direction: FrameDirection, seq: number, frame: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const { mac: _mac, ...body } = frame;
  const seqBytes = new Uint8Array(8);
  new DataView(seqBytes.buffer).setBigUint64(0, BigInt(seq));
  return concat([utf8(FRAME_LABEL[direction]), new Uint8Array([0]), seqBytes, canonicalBytes(body as CanonicalValue)]);
}

export type FrameCheck = { ok: true; frame: Record<string, unknown> } | { ok: false; reason: 'no_seq' | 'bad_seq' | 'bad_mac' };

/**
 * One direction of a session: `seal` numbers and MACs outgoing frames, `check` accepts only the
 * next number with a valid MAC. A replayed, skipped or reordered frame fails on `seq`; a changed
 * one on `mac`. Callers must seal and check in frame order (one at a time per connection).
 */
export class FrameChannel {
  private sent = 0;
  private received = 0;

  constructor(
    private readonly key: CryptoKey,
    private readonly outgoing: FrameDirection,
  ) {}

  private get incoming(): FrameDirection {
    return this.outgoing === 'toServer' ? 'toAgent' : 'toServer';
  }

  /** Numbers the frame now (synchronously, so send order is seq order) and MACs it. */
  seal<T extends Record<string, unknown>>(frame: T): Promise<T & { seq: number; mac: string }> {
    this.sent += 1;
    const numbered = { ...frame, seq: this.sent };
    return subtle.sign('HMAC', this.key, frameInput(this.outgoing, this.sent, numbered)).then((mac) => ({ ...numbered, mac: toBase64Url(new Uint8Array(mac)) }));
  }

  async check(frame: unknown): Promise<FrameCheck> {
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return { ok: false, reason: 'no_seq' };
    const record = frame as Record<string, unknown>;
    const { seq, mac } = record;
    if (typeof seq !== 'number' || typeof mac !== 'string' || !Number.isSafeInteger(seq) || !/^[A-Za-z0-9_-]{43}$/.test(mac)) return { ok: false, reason: 'no_seq' };
    if (seq !== this.received + 1) return { ok: false, reason: 'bad_seq' };
    const valid = await subtle.verify('HMAC', this.key, concat([fromBase64Url(mac)]), frameInput(this.incoming, seq, record));
    if (!valid) return { ok: false, reason: 'bad_mac' };
    this.received = seq;
    return { ok: true, frame: record };
  }
}
