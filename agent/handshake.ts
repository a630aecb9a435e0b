import type { z } from 'zod';
import {
  agentProof,
  deriveSessionKey,
  FrameChannel,
  fromBase64Url,
  newNonce,
  parseCredential,
  secretKey,
  toBase64Url,
  verifyServerProof,
} from '../protocol/agent-auth';
import { type AgentHello, type AgentProof, ServerWelcome, type ServerToAgent } from '../protocol/agent-messages';
import type { ErrorCode } from '../protocol/errors';
import { PROTOCOL_VERSION } from '../protocol/version';
import { AGENT_VERSION } from './version';

/*
 * The slot where agent and server prove who they are to each other (docs/agent.md, "Mutual
 * authentication"): hello → challenge (the server proves first) → proof → welcome. The agent
 * never sends anything after `hello` to a server that could not prove it holds the agent's secret.
 */

export type Welcome = z.infer<typeof ServerWelcome>;

/** A frame as received: the parsed message and the JSON it came from (the MAC covers the JSON). */
export interface Received {
  message: ServerToAgent;
  raw: unknown;
}

export interface HandshakeTransport {
  send(message: z.infer<typeof AgentHello> | z.infer<typeof AgentProof>): void;
  /** Next valid frame from the server. Rejects on timeout or when the connection ends. */
  receive(timeoutMs: number): Promise<Received>;
}

/** What a completed handshake yields: the welcome and the channel that seals and checks every later frame. */
export interface Session {
  welcome: Welcome;
  channel: FrameChannel;
}

export type Handshake = (transport: HandshakeTransport) => Promise<Session>;

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

/** The server could not prove it holds our secret: not our server (or someone in between). */
export class ServerNotAuthenticated extends Error {
  override readonly name = 'ServerNotAuthenticated';
}

function refusedBy(reply: Extract<ServerToAgent, { type: 'error' }>): HandshakeRefused {
  const supported = reply.supportedVersions ? ` (server speaks ${reply.supportedVersions.join(', ')})` : '';
  return new HandshakeRefused(reply.code, `${reply.message}${supported}`);
}

/** The whole exchange must finish within `timeoutMs`. */
export function mutualHandshake(credential: string, timeoutMs: number): Handshake {
  return async (transport) => {
    const parsed = parseCredential(credential);
    if (parsed.kind === 'legacy') {
      throw new HandshakeRefused('agent_reenrol_required', 'this credential predates mutual authentication (it names no agent id); enrol the agent again');
    }
    if (parsed.kind === 'invalid') throw new HandshakeRefused('agent_auth_failed', 'the configured credential is not an agent credential (rmm_agt_<id>.<secret>)');
    const deadline = Date.now() + timeoutMs;
    const remaining = () => Math.max(1, deadline - Date.now());
    const { agentId, secret } = parsed;
    const key = await secretKey(secret);
    const nonceA = newNonce();
    transport.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, agentVersion: AGENT_VERSION, agentId, nonceA: toBase64Url(nonceA) });

    const challenge = (await transport.receive(remaining())).message;
    if (challenge.type === 'error') throw refusedBy(challenge);
    if (challenge.type !== 'challenge') throw new HandshakeRefused('protocol_unexpected_message', `expected challenge, server sent ${challenge.type}`);
    const nonceS = fromBase64Url(challenge.nonceS);
    const inputs = { agentId, nonceA, nonceS };
    if (!(await verifyServerProof(key, inputs, fromBase64Url(challenge.serverProof)))) {
      throw new ServerNotAuthenticated('the server could not prove it holds this agent\'s secret (wrong server, or a TLS-intercepting proxy); nothing was sent');
    }
    transport.send({ type: 'proof', agentProof: toBase64Url(await agentProof(key, inputs)) });

    const channel = new FrameChannel(await deriveSessionKey(secret, nonceA, nonceS), 'toServer');
    const reply = await transport.receive(remaining());
    if (reply.message.type === 'error') throw refusedBy(reply.message);
    if (reply.message.type !== 'welcome') throw new HandshakeRefused('protocol_unexpected_message', `expected welcome, server sent ${reply.message.type}`);
    // The welcome is the first sealed frame: it shows the server derived the same session key.
    const check = await channel.check(reply.raw);
    if (!check.ok) throw new ServerNotAuthenticated(`the welcome failed its integrity check (${check.reason})`);
    if (reply.message.protocolVersion !== PROTOCOL_VERSION) {
      throw new HandshakeRefused(
        'protocol_unsupported_version',
        `server welcomed us with protocol ${reply.message.protocolVersion}, agent speaks ${PROTOCOL_VERSION}`,
      );
    }
    return { welcome: reply.message, channel };
  };
}
