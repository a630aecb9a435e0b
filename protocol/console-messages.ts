import { z } from 'zod';
import { AgentSummary, AgentDetail } from './api';
import { Alert } from './alerts';
import { ErrorCode } from './errors';
import { SessionEndKind } from './identity';

/*
 * Console <-> server messages on /ws/console: live updates so the console never polls.
 * The console subscribes to one org at a time (admins switch orgs explicitly).
 */

export const ConsoleSubscribe = z.object({
  type: z.literal('subscribe'),
  orgId: z.uuid(),
});

export const ConsolePing = z.object({ type: z.literal('ping'), id: z.number().int().nonnegative() });

export const ConsoleToServer = z.discriminatedUnion('type', [ConsoleSubscribe, ConsolePing]);
export type ConsoleToServer = z.infer<typeof ConsoleToServer>;

export const ServerSubscribed = z.object({ type: z.literal('subscribed'), orgId: z.uuid() });
export const ServerPong = z.object({ type: z.literal('pong'), id: z.number().int().nonnegative() });

/** An agent connected, disconnected or timed out. */
export const AgentStatusEvent = z.object({
  type: z.literal('agent.status'),
  agent: AgentSummary,
});

/** An agent reported a new inventory. */
export const AgentInventoryEvent = z.object({
  type: z.literal('agent.inventory'),
  agent: AgentDetail,
});

/** The socket's session ended (revoked, signed out, expired); the server closes the socket next. */
export const SessionEndedEvent = z.object({
  type: z.literal('session.ended'),
  kind: SessionEndKind,
  /** Why, in words: the revoker's reason, or the timeout that ran out. */
  reason: z.string(),
  /** Who ended it; null when a timeout did. */
  by: z.object({ userId: z.uuid(), name: z.string() }).nullable(),
});

/** An alert for this user's eyes (they hold `alerts.read` in the alert's org, or are an MSP admin). */
export const AlertRaisedEvent = z.object({
  type: z.literal('alert'),
  alert: Alert,
});

export const ConsoleServerError = z.object({
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
});

export const ServerToConsole = z.discriminatedUnion('type', [
  ServerSubscribed,
  ServerPong,
  AgentStatusEvent,
  AgentInventoryEvent,
  SessionEndedEvent,
  AlertRaisedEvent,
  ConsoleServerError,
]);
export type ServerToConsole = z.infer<typeof ServerToConsole>;
