import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { ErrorBody } from '../protocol/errors';
import { STEP_UP_HEADER } from '../protocol/mfa';
import { ConsoleError } from './console-error';
import type { CredentialSource } from './credentials';
import { connectionError, type TrustResolver } from './server-trust';

/*
 * HTTPS client for the server's REST API. Trust is pinned (see server-trust.ts), the credential
 * comes from a CredentialSource, and every body is parsed with the protocol's zod schemas.
 * Downloads (audit exports) hand back the response stream instead of buffering it.
 */

export type ApiMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiDownload {
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Per-call extras. */
export interface ApiCallOptions {
  /** A step-up proof for this one request (sent as X-Step-Up; see step-up-store.ts). */
  stepUp?: string;
}

export interface ApiClient {
  get<S extends z.ZodType>(path: string, schema: S, options?: ApiCallOptions): Promise<z.output<S>>;
  /** A change: sends `body` as JSON (when given) and parses the answer with `schema`. */
  send<S extends z.ZodType>(method: ApiMethod, path: string, body: unknown, schema: S, options?: ApiCallOptions): Promise<z.output<S>>;
  /** GET whose 2xx body is streamed to the caller; `signal` aborts the transfer. */
  download(path: string, options: { signal: AbortSignal; accept: string } & ApiCallOptions): Promise<ApiDownload>;
}

export interface ApiClientOptions {
  serverUrl: URL;
  trust: TrustResolver;
  credentials: CredentialSource;
  /** How long a connection may stay silent before the request is abandoned. */
  timeoutMs?: number;
  /** JSON answers larger than this are refused rather than buffered. */
  maxResponseBytes?: number;
}

/** Error bodies of downloads are read up to this size, the rest is dropped. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Builds `/api/a/b` from segments, each URI-encoded so an id can never change the path. */
export function apiPath(...segments: string[]): string {
  return `/api/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  if (options.serverUrl.protocol !== 'https:') {
    throw new ConsoleError('bad_request', 'the server URL must use https');
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;

  const resolveUrl = (path: string): URL => {
    const url = new URL(path, options.serverUrl);
    if (url.origin !== options.serverUrl.origin) throw new ConsoleError('bad_request', 'path leaves the server');
    return url;
  };

  /** Starts a request once trust and credential are ready; maps socket failures to console errors. */
  async function open(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal): Promise<{ req: ReturnType<typeof https.request>; res: IncomingMessage }> {
    const [tlsOptions, authorization] = await Promise.all([options.trust.tlsOptions(), options.credentials.authorizationHeader()]);
    try {
      return await new Promise((resolve, reject) => {
        const req = https.request(url, {
          ...tlsOptions,
          method,
          headers: { ...headers, authorization },
          timeout: timeoutMs,
          agent: false,
          signal,
        });
        req.once('response', (res) => resolve({ req, res }));
        req.on('timeout', () => req.destroy(new ConsoleError('server_unreachable', 'the server did not answer in time')));
        req.on('error', reject);
        req.end(body);
      });
    } catch (error) {
      if (signal?.aborted) throw new ConsoleError('bad_request', 'cancelled', { cause: error });
      const mapped = connectionError(error);
      if (mapped.code === 'tls_untrusted') options.trust.invalidate();
      throw mapped;
    }
  }

  async function json<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S, callOptions: ApiCallOptions = {}): Promise<z.output<S>> {
    const url = resolveUrl(path);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = withStepUp({ accept: 'application/json' }, callOptions);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const { req, res } = await open(url, method, headers, payload);
    let text: string;
    try {
      text = await readBody(req, res, maxBytes);
    } catch (error) {
      throw connectionError(error);
    }
    const parsed = parseJson(text);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw errorFromResponse(status, parsed);
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new ConsoleError('invalid_response', `unexpected response from ${method} ${url.pathname}`);
    }
    return result.data;
  }

  return {
    get: (path, schema, callOptions) => json('GET', path, undefined, schema, callOptions),
    send: (method, path, body, schema, callOptions) => json(method, path, body, schema, callOptions),
    async download(path, { signal, accept, stepUp }) {
      const url = resolveUrl(path);
      const { req, res } = await open(url, 'GET', withStepUp({ accept }, { stepUp }), undefined, signal);
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const text = await readBody(req, res, MAX_ERROR_BODY_BYTES).catch(() => '');
        throw errorFromResponse(status, parseJson(text));
      }
      // Silence after the headers is bounded by the request timeout, which destroys the stream.
      return { headers: res.headers, body: res };
    },
  };
}

function withStepUp(headers: Record<string, string>, options: ApiCallOptions): Record<string, string> {
  if (options.stepUp === undefined) return headers;
  // A proof is opaque to the console; refuse anything that could split the header.
  if (!/^[\x21-\x7e]{1,512}$/.test(options.stepUp)) throw new ConsoleError('bad_request', 'malformed step-up proof');
  return { ...headers, [STEP_UP_HEADER.toLowerCase()]: options.stepUp };
}

function readBody(req: ReturnType<typeof https.request>, res: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
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
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    req.on('error', reject);
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
