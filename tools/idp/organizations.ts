import { randomBytes } from 'node:crypto';
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { JWK } from 'oidc-provider';
import { z } from 'zod';
import type { Clock } from '../../server/clock';
import { LOGIN_PAGE_HEADERS, renderOrganizationsLoginPage, renderProblemPage } from './login-page';
import type { DevIdpMemoryStore } from './memory-store';
import { isLoopbackRedirect, PICK_TICKET_PARAM } from './tenant-provider';
import type { DevIdpTenant } from './tenants';

/*
 * Entra ID's multi-tenant authority, https://127.0.0.1:<port>/organizations/v2.0: one console
 * configuration for the users of every tenant. Like Microsoft's, its discovery document names the
 * issuer template https://127.0.0.1:<port>/{tenantid}/v2.0 (MSAL accepts it: same scheme and host
 * as the authority) and its own authorize, token and keys endpoints. It issues nothing itself:
 * - /auth keeps the authorization request and shows every tenant's users; picking one sends the
 *   browser on to that user's tenant (/<tid>/v2.0/auth with the same parameters and a single-use
 *   pick ticket, which the tenant's login step honours instead of asking again), so the code and
 *   every token are the tenant's own: its `iss`, `tid`, signing key and store;
 * - /token hands the request to the tenant whose store holds the code or refresh token, so a
 *   client that only knows `organizations` redeems and refreshes there (as MSAL does).
 */

export const ORGANIZATIONS_MOUNT = '/organizations/v2.0';

const PICK_TTL_MS = 10 * 60_000;
const TICKET_TTL_MS = 2 * 60_000;
const MAX_PENDING = 1000;
const MAX_FORM_BYTES = 4096;
const MAX_TOKEN_BODY_BYTES = 16 * 1024;
const PICK_COOKIE = 'rmm_dev_pick';

/** A small map whose entries expire (injected clock) and whose oldest entries go first beyond `max`. */
class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(private readonly clock: Clock, private readonly ttlMs: number, private readonly max = MAX_PENDING) {}

  add(value: V): string {
    const id = randomBytes(24).toString('base64url');
    this.entries.set(id, { value, expiresAt: this.clock.now().getTime() + this.ttlMs });
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(key);
    }
    return id;
  }

  get(id: string): V | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now().getTime()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.value;
  }

  /** Single use: the entry is gone afterwards. */
  take(id: string): V | undefined {
    const value = this.get(id);
    this.entries.delete(id);
    return value;
  }
}

/** What a tenant's login step does with a pick ticket: sign `oid` in, or cancel (`oid` null). */
export interface PickTicket {
  tenantId: string;
  oid: string | null;
}

/** Pick tickets: issued by the organizations page, taken (once, within 2 minutes) by the tenant's login step. */
export class PickTickets {
  private readonly tickets: ExpiringMap<PickTicket>;

  constructor(clock: Clock) {
    this.tickets = new ExpiringMap(clock, TICKET_TTL_MS);
  }

  issue(ticket: PickTicket): string {
    return this.tickets.add(ticket);
  }

  take(id: string): PickTicket | undefined {
    return this.tickets.take(id);
  }
}

export interface OrganizationsTenant {
  tenant: DevIdpTenant;
  /** The tenant's state: which codes and refresh tokens it issued. */
  store: DevIdpMemoryStore;
  /** Its signing key: only the public part is published, in the organizations JWKS. */
  signingKey: JWK;
}

export interface OrganizationsOptions {
  url: string;
  clientId: string;
  /** In page order; the first also answers a cancel. */
  tenants: readonly OrganizationsTenant[];
  tickets: PickTickets;
  clock: Clock;
  /** Hands a request to the tenant's provider at `pathAndQuery` below its mount. */
  forward(tenantId: string, req: IncomingMessage, res: ServerResponse, pathAndQuery: string): void;
}

const LoginForm = z.object({ tid: z.uuid(), oid: z.uuid() });
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]{32})(\/login|\/cancel)?$/;

/** Handles `path` (below /organizations/v2.0, with its query) for the organizations authority. */
export function createOrganizationsHandler(opts: OrganizationsOptions): (req: IncomingMessage, res: ServerResponse, pathAndQuery: string) => Promise<void> {
  const base = `${opts.url}${ORGANIZATIONS_MOUNT}`;
  const pending = new ExpiringMap<string>(opts.clock, PICK_TTL_MS);
  const tenants = new Map(opts.tenants.map((t) => [t.tenant.id.toLowerCase(), t]));
  const firstTenant = opts.tenants[0]?.tenant.id;
  if (!firstTenant) throw new Error('the organizations authority needs a tenant');
  const cancelTenant: string = firstTenant;

  const discovery = {
    issuer: `${opts.url}/{tenantid}/v2.0`,
    authorization_endpoint: `${base}/auth`,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/jwks`,
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid', 'oid', 'name', 'preferred_username', 'email'],
    tenant_region_scope: null,
  };
  const jwks = { keys: opts.tenants.map(({ signingKey: k }) => ({ kty: k.kty, kid: k.kid, alg: k.alg, use: k.use, n: k.n, e: k.e })) };

  return async (req, res, pathAndQuery) => {
    const [pathname = '', query = ''] = pathAndQuery.split(/\?(.*)/s);
    if (req.method === 'GET' && pathname === '/.well-known/openid-configuration') return json(res, 200, discovery);
    if (req.method === 'GET' && pathname === '/jwks') return json(res, 200, jwks);
    if (pathname === '/token') {
      if (req.method !== 'POST') return json(res, 405, { error: 'invalid_request', error_description: 'use POST' });
      return token(req, res);
    }
    if (req.method === 'GET' && pathname === '/auth') return authorize(res, query);
    const route = INTERACTION.exec(pathname);
    if (route?.[1]) return interaction(req, res, route[1], route[2]);
    return json(res, 404, { error: 'not_found', error_description: 'unknown path' });
  };

  /** Keeps the request (only checking it is for our client and a loopback URI) and sends the browser to the page. */
  function authorize(res: ServerResponse, query: string): void {
    const params = new URLSearchParams(query);
    if (params.get('client_id') !== opts.clientId) return problem(res, 400, 'Unknown application (client_id).');
    if (!isLoopbackRedirect(params.get('redirect_uri') ?? '')) return problem(res, 400, 'The redirect URI must be a loopback http:// URI.');
    params.delete(PICK_TICKET_PARAM);
    const id = pending.add(params.toString());
    const page = `${ORGANIZATIONS_MOUNT}/interaction/${id}`;
    res.writeHead(303, {
      location: page,
      'cache-control': 'no-store',
      // Ties the page to this browser: a form posted from elsewhere (or a copied URL) is refused.
      'set-cookie': `${PICK_COOKIE}=${id}; Path=${page}; Secure; HttpOnly; SameSite=Lax`,
    }).end();
  }

  async function interaction(req: IncomingMessage, res: ServerResponse, id: string, action: string | undefined): Promise<void> {
    if ((action === undefined) !== (req.method === 'GET')) return problem(res, 405, 'Method not allowed.');
    const query = cookieOf(req, PICK_COOKIE) === id ? pending.get(id) : undefined;
    if (query === undefined) return problem(res, 400, 'This sign-in has expired or was started elsewhere. Start again from the application.');
    const page = `${ORGANIZATIONS_MOUNT}/interaction/${id}`;
    if (action === undefined) {
      res.writeHead(200, LOGIN_PAGE_HEADERS).end(renderOrganizationsLoginPage({ tenants: opts.tenants.map((t) => t.tenant), clientId: opts.clientId, actionPath: `${page}/login`, cancelPath: `${page}/cancel` }));
      return;
    }
    if (action === '/cancel') {
      pending.take(id);
      return continueAt(res, cancelTenant, query, { tenantId: cancelTenant, oid: null });
    }
    const form = await readBody(req, MAX_FORM_BYTES, 'application/x-www-form-urlencoded');
    const parsed = form === undefined ? undefined : LoginForm.safeParse(Object.fromEntries(new URLSearchParams(form.toString('utf8'))));
    if (!parsed?.success) return problem(res, 400, 'The sign-in form was not valid.');
    const tenant = tenants.get(parsed.data.tid.toLowerCase())?.tenant;
    const user = tenant?.users.find((u) => u.oid === parsed.data.oid);
    if (!tenant || !user) return problem(res, 403, 'That user is not in any tenant of this provider.');
    pending.take(id);
    continueAt(res, tenant.id, query, { tenantId: tenant.id, oid: user.oid });
  }

  /** On to the tenant's own authorization endpoint, with the same request and a pick ticket. */
  function continueAt(res: ServerResponse, tenantId: string, query: string, ticket: PickTicket): void {
    const params = new URLSearchParams(query);
    params.set(PICK_TICKET_PARAM, opts.tickets.issue(ticket));
    res.writeHead(303, { location: `/${tenantId}/v2.0/auth?${params.toString()}`, 'cache-control': 'no-store' }).end();
  }

  /** The tenant whose store holds the code or refresh token gets the request, body and all. */
  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, MAX_TOKEN_BODY_BYTES, 'application/x-www-form-urlencoded');
    if (body === undefined) return json(res, 400, { error: 'invalid_request', error_description: 'expected an application/x-www-form-urlencoded body of at most 16 KiB' });
    const form = new URLSearchParams(body.toString('utf8'));
    const grantType = form.get('grant_type');
    const kinds: Record<string, [model: string, field: string]> = { authorization_code: ['AuthorizationCode', 'code'], refresh_token: ['RefreshToken', 'refresh_token'] };
    const kind = grantType ? kinds[grantType] : undefined;
    if (!kind) return json(res, 400, { error: 'unsupported_grant_type', error_description: 'unsupported grant_type requested' });
    const [model, field] = kind;
    const value = form.get(field) ?? '';
    const owner = value ? opts.tenants.find((t) => t.store.holds(model, value)) : undefined;
    if (!owner) return json(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
    opts.forward(owner.tenant.id, replay(req, body), res, '/token');
  }
}

/** A fresh request carrying the body already read, for the tenant's provider to read again. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = { ...req.headers, 'content-length': String(body.length) };
  // Complete, or Node destroys the shared socket when this copy is destroyed after its end.
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}

async function readBody(req: IncomingMessage, max: number, type: string): Promise<Buffer | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith(type)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > max) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, LOGIN_PAGE_HEADERS).end(renderProblemPage(message));
}
