import type { z } from 'zod';
import { type AgentToServer, ServerWelcome, type ServerToAgent } from '../protocol/agent-messages';
import type { ErrorCode } from '../protocol/errors';
import { PROTOCOL_VERSION } from '../protocol/version';
import { AGENT_VERSION } from './version';

/*
 * The slot where the agent proves who it is. Today a bearer token in `hello`; the mutual
 * challenge-response replaces `bearerHandshake` with a nonce exchange over the same transport,
 * and nothing else in the agent changes.
 */

export type Welcome = z.infer<typeof ServerWelcome>;

export interface HandshakeTransport {
  send(message: AgentToServer): void;
  /** Next valid frame from the server. Rejects on timeout or when the connection ends. */
  receive(timeoutMs: number): Promise<ServerToAgent>;
}

export type Handshake = (transport: HandshakeTransport) => Promise<Welcome>;

/** The server refused us; `code` is the server's error code (or what we concluded ourselves). */
export class HandshakeRefused extends Error {
  override readonly name = 'HandshakeRefused';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function bearerHandshake(token: string, welcomeTimeoutMs: number): Handshake {
  return async (transport) => {
    transport.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentVersion: AGENT_VERSION, token });
    const reply = await transport.receive(welcomeTimeoutMs);
    if (reply.type === 'error') {
      const supported = reply.supportedVersions ? ` (server speaks ${reply.supportedVersions.join(', ')})` : '';
      throw new HandshakeRefused(reply.code, `${reply.message}${supported}`);
    }
    if (reply.protocolVersion !== PROTOCOL_VERSION) {
      throw new HandshakeRefused(
        'protocol_unsupported_version',
        `server welcomed us with protocol ${reply.protocolVersion}, agent speaks ${PROTOCOL_VERSION}`,
      );
    }
    return reply;
  };
}
