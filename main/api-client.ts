import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { ErrorBody } from '../protocol/errors';
import { ConsoleError } from './console-error';
import type { CredentialSource } from './credentials';
import { connectionError, type TrustResolver } from './server-trust';

/*
 * HTTPS client for the server's REST API. Trust is pinned (see server-trust.ts), the credential
 * comes from a CredentialSource, and every body is parsed with the protocol's zod schemas.
 */

export interface ApiClient {
  get<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>>;
}

export interface ApiClientOptions {
  serverUrl: URL;
  trust: TrustResolver;
  credentials: CredentialSource;
  timeoutMs?: number;
  /** Answers larger than this are refused rather than buffered. */
  maxResponseBytes?: number;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  if (options.serverUrl.protocol !== 'https:') {
    throw new ConsoleError('bad_request', 'the server URL must use https');
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;

  return {
    async get(path, schema) {
      const url = new URL(path, options.serverUrl);
      if (url.origin !== options.serverUrl.origin) throw new ConsoleError('bad_request', 'path leaves the server');
      const [tlsOptions, authorization] = await Promise.all([
        options.trust.tlsOptions(),
        options.credentials.authorizationHeader(),
      ]);
      let response: { status: number; body: string };
      try {
        response = await request(url, {
          ...tlsOptions,
          method: 'GET',
          headers: { authorization, accept: 'application/json' },
          timeout: timeoutMs,
          agent: false,
        }, maxBytes);
      } catch (error) {
        const mapped = connectionError(error);
        if (mapped.code === 'tls_untrusted') options.trust.invalidate();
        throw mapped;
      }
      const json = parseJson(response.body);
      if (response.status < 200 || response.status > 299) throw errorFromResponse(response.status, json);
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new ConsoleError('invalid_response', `unexpected response from GET ${url.pathname}`);
      }
      return parsed.data;
    },
  };
}

function request(url: URL, options: https.RequestOptions, maxBytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new ConsoleError('invalid_response', 'response too large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new ConsoleError('server_unreachable', 'the server did not answer in time')));
    req.on('error', reject);
    req.end();
  });
}

function parseJson(body: string): unknown {
  if (body === '') return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function errorFromResponse(status: number, json: unknown): ConsoleError {
  const body = ErrorBody.safeParse(json);
  if (body.success) return new ConsoleError(body.data.error.code, body.data.error.message);
  if (status === 401) return new ConsoleError('unauthenticated', 'the server refused the credential');
  if (status === 403) return new ConsoleError('forbidden', 'not allowed');
  if (status === 404) return new ConsoleError('not_found', 'not found');
  return new ConsoleError('invalid_response', `server answered ${status} without an error body`);
}
