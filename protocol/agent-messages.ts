import { z } from 'zod';
import { B64_32 } from './agent-auth';
import { ErrorCode } from './errors';
import { Inventory } from './inventory';

/*
 * Agent <-> server messages on /ws/agent. Every frame is one JSON text message parsed by these
 * schemas on receipt. Mutual authentication (protocol/agent-auth.ts, docs/agent.md): the agent
 * says `hello` with its id and a nonce, the server answers `challenge` with its nonce and proof,
 * the agent answers `proof`, the server `welcome`. From `welcome` on every frame in both
 * directions carries `seq` (per direction, from 1, +1 each) and `mac` under the session key.
 */

const B64Bytes32 = z.string().regex(B64_32, 'base64url of 32 bytes');
/** Present on every frame after the handshake (checked before the schema, see FrameChannel). */
const Sealed = { seq: z.number().int().positive(), mac: B64Bytes32 };

export const AgentHello = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().positive(),
  agentVersion: z.string().min(1).max(64),
  agentId: z.uuid(),
  nonceA: B64Bytes32,
});

export const AgentProof = z.object({
  type: z.literal('proof'),
  agentProof: B64Bytes32,
});

export const AgentInventoryMessage = z.object({
  type: z.literal('inventory'),
  inventory: Inventory,
  ...Sealed,
});

export const AgentHeartbeat = z.object({
  type: z.literal('heartbeat'),
  uptimeSeconds: z.number().nonnegative(),
  ...Sealed,
});

export const AgentToServer = z.discriminatedUnion('type', [AgentHello, AgentProof, AgentInventoryMessage, AgentHeartbeat]);
export type AgentToServer = z.infer<typeof AgentToServer>;

export const ServerChallenge = z.object({
  type: z.literal('challenge'),
  nonceS: B64Bytes32,
  /** HMAC(secret, rmm/v1/server-proof || agentId || nonceA || nonceS): the server proves first. */
  serverProof: B64Bytes32,
});

export const ServerWelcome = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int().positive(),
  agentId: z.uuid(),
  /** How often the agent must send a heartbeat; the server marks it offline after three missed beats. */
  heartbeatIntervalMs: z.number().int().positive(),
  serverTime: z.iso.datetime(),
  ...Sealed,
});

export const ServerError = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  /** Set on protocol_unsupported_version so the agent can log what it should speak. */
  supportedVersions: z.array(z.number().int()).optional(),
  /** Errors during the handshake cannot be sealed (no session key yet); later ones are. */
  seq: Sealed.seq.optional(),
  mac: Sealed.mac.optional(),
});

export const ServerToAgent = z.discriminatedUnion('type', [ServerChallenge, ServerWelcome, ServerError]);
export type ServerToAgent = z.infer<typeof ServerToAgent>;

/** A frame before FrameChannel.seal numbers and MACs it. */
export type Unsealed<T> = T extends unknown ? Omit<T, 'seq' | 'mac'> : never;

/** WebSocket close codes the server uses towards agents (4000-4999 is application space). */
export const AgentCloseCode = {
  protocolError: 4400,
  authFailed: 4401,
  unsupportedVersion: 4426,
  replaced: 4409,
  handshakeTimeout: 4408,
  heartbeatTimeout: 4410,
  /** A frame with a bad MAC or an out-of-order, replayed or skipped seq. */
  frameRejected: 4403,
  shuttingDown: 1001,
} as const;
