import { z } from 'zod';
import { ErrorCode } from './errors';
import { Inventory } from './inventory';

/*
 * Agent <-> server messages on /ws/agent. Every frame is one JSON text message parsed by these
 * schemas on receipt. The agent speaks first (`hello`); nothing else is accepted from it until
 * the server answered `welcome`. The mutual challenge-response (issue #5) replaces the bearer
 * token in `hello` with a nonce exchange in the same position of the conversation.
 */

export const AgentHello = z.object({
  type: z.literal('hello'),
  protocolVersion: z.number().int().positive(),
  agentVersion: z.string().min(1).max(64),
  /** Credential the agent was provisioned with. */
  token: z.string().min(1).max(512),
});

export const AgentInventoryMessage = z.object({
  type: z.literal('inventory'),
  inventory: Inventory,
});

export const AgentHeartbeat = z.object({
  type: z.literal('heartbeat'),
  /** Monotonic counter per connection, for spotting gaps in logs. */
  seq: z.number().int().nonnegative(),
  uptimeSeconds: z.number().nonnegative(),
});

export const AgentToServer = z.discriminatedUnion('type', [AgentHello, AgentInventoryMessage, AgentHeartbeat]);
export type AgentToServer = z.infer<typeof AgentToServer>;

export const ServerWelcome = z.object({
  type: z.literal('welcome'),
  protocolVersion: z.number().int().positive(),
  agentId: z.uuid(),
  /** How often the agent must send a heartbeat; the server marks it offline after three missed beats. */
  heartbeatIntervalMs: z.number().int().positive(),
  serverTime: z.iso.datetime(),
});

export const ServerError = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  /** Set on protocol_unsupported_version so the agent can log what it should speak. */
  supportedVersions: z.array(z.number().int()).optional(),
});

export const ServerToAgent = z.discriminatedUnion('type', [ServerWelcome, ServerError]);
export type ServerToAgent = z.infer<typeof ServerToAgent>;

/** WebSocket close codes the server uses towards agents (4000-4999 is application space). */
export const AgentCloseCode = {
  protocolError: 4400,
  authFailed: 4401,
  unsupportedVersion: 4426,
  replaced: 4409,
  handshakeTimeout: 4408,
  heartbeatTimeout: 4410,
  shuttingDown: 1001,
} as const;
