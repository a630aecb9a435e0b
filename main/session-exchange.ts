import https from 'node:https';
import { z } from 'zod';
import { ErrorBody } from '../protocol/errors';
import { SignInResponse } from '../protocol/identity';
import { createApiClient } from './api-client';
import { ConsoleError } from './console-error';
import { staticBearerToken } from './credentials';
import { connectionError, type TrustResolver } from './server-trust';

/*
 * The console's two calls around a server session: exchanging an Azure AD access token for one
 * (POST /api/auth/session, the one API call made without a credential) and ending it
 * (POST /api/auth/sign-out with the session token). Same pinned trust as every other call.
 */

export type ServerSession = z.output<typeof SignInResponse>;

export interface SessionExchange {
  signIn(accessToken: string): Promise<ServerSession>;
  /** Ends the session at the server; a session the server already ended counts as ended. */
  signOut(sessionToken: string): Promise<void>;
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const TIMEOUT_MS = 15_000;

export function createSessionExchange(options: { serverUrl: URL; trust: TrustResolver; userAgent?: string }): SessionExchange {
  if (options.serverUrl.protocol !== 'https:') throw new ConsoleError('bad_request', 'the server URL must use https');
  const userAgent = options.userAgent ?? 'RMM Console';

  async function postAnonymous(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const tlsOptions = await options.trust.tlsOptions();
    const payload = JSON.stringify(body);
    try {
      return await new Promise((resolve, reject) => {
        const req = https.request(new URL(path, options.serverUrl), {
          ...tlsOptions,
          method: 'POST',
          headers: { accept: 'application/json', 'content-type': 'application/json', 'user-agent': userAgent },
          timeout: TIMEOUT_MS,
          agent: false,
        }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new ConsoleError('invalid_response', 'response too large'));
            else chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, json });
          });
        });
        req.on('timeout', () => req.destroy(new ConsoleError('server_unreachable', 'the server did not answer in time')));
        req.on('error', reject);
        req.end(payload);
      });
    } catch (error) {
      if (error instanceof ConsoleError) throw error;
      const mapped = connectionError(error);
      if (mapped.code === 'tls_untrusted') options.trust.invalidate();
      throw mapped;
    }
  }

  return {
    async signIn(accessToken) {
      const { status, json } = await postAnonymous('/api/auth/session', { accessToken });
      if (status < 200 || status > 299) {
        const error = ErrorBody.safeParse(json);
        if (error.success) throw new ConsoleError(error.data.error.code, error.data.error.message);
        throw new ConsoleError('invalid_response', `the server answered ${status} to the sign-in`);
      }
      const session = SignInResponse.safeParse(json);
      if (!session.success) throw new ConsoleError('invalid_response', 'unexpected response to the sign-in');
      return session.data;
    },
    async signOut(sessionToken) {
      const api = createApiClient({ serverUrl: options.serverUrl, trust: options.trust, credentials: staticBearerToken(sessionToken) });
      try {
        await api.send('POST', '/api/auth/sign-out', undefined, z.object({ signedOut: z.literal(true) }));
      } catch (error) {
        // Ended already (revoked, expired, signed out elsewhere): nothing left to end.
        if (error instanceof ConsoleError && error.code === 'unauthenticated') return;
        throw error;
      }
    },
  };
}
