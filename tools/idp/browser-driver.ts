import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:https';

/*
 * Plays the browser's part of a sign-in at the dev provider for tests: follows redirects with a
 * cookie jar, reads the login page, posts the chosen user's form and stops at the redirect to the
 * client's loopback URI. Not a general HTTP client: just enough for the provider's pages.
 */

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpsRequest(url: string, opts: { ca: string; method?: string; headers?: Record<string, string>; body?: string; servername?: string }): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, ...(opts.servername ? { servername: opts.servername } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export class BrowserDriver {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly ca: string) {}

  async fetch(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<HttpsResponse> {
    const headers: Record<string, string> = {};
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) headers.cookie = cookie;
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await httpsRequest(url, { ca: this.ca, method: init.method ?? 'GET', headers, body });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    return res;
  }

  /** Follows redirects inside the provider; returns the first response that is not a redirect to it, or the loopback Location. */
  async follow(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<{ res: HttpsResponse; url: string }> {
    let current = url;
    let res = await this.fetch(current, init);
    for (let hops = 0; hops < 10; hops += 1) {
      const location = res.headers.location;
      if (res.status < 300 || res.status >= 400 || typeof location !== 'string') return { res, url: current };
      const next = new URL(location, current);
      if (next.protocol !== 'https:') return { res, url: next.href };
      current = next.href;
      res = await this.fetch(current);
    }
    throw new Error('too many redirects');
  }

  /**
   * From the authorization URL to the loopback redirect: opens the login page (a tenant's, or the
   * organizations page of every tenant), posts `oid` (whatever is given, to test tampering) with
   * that user's form, or the first form when no user has that `oid`. Returns the final loopback URL, or the
   * refusal response when the provider did not redirect there. With `response_mode=form_post`
   * (what MSAL's acquireTokenInteractive asks) the provider answers with a self-submitting form
   * instead: its fields are returned as the URL's query and `formPost` is set.
   */
  async signIn(authorizeUrl: string, oid: string): Promise<{ redirect: URL; formPost: boolean } | { refused: HttpsResponse }> {
    const page = await this.follow(authorizeUrl);
    if (page.res.status !== 200) return { refused: page.res };
    const forms = [...page.res.body.matchAll(/<form method="post" action="([^"]+\/login)">(.*?)<\/form>/g)].map(([, action = '', inner = '']) => ({
      action: decodeEntities(action),
      fields: Object.fromEntries([...inner.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(([, name = '', value = '']) => [name, decodeEntities(value)])),
    }));
    // The user's own form (the organizations page also names their tenant), else the first one with `oid` replaced.
    const form = forms.find((f) => f.fields.oid === oid) ?? forms[0];
    if (!form) throw new Error(`no login form on ${page.url}: ${page.res.body.slice(0, 200)}`);
    const done = await this.follow(new URL(form.action, page.url).href, { method: 'POST', form: { ...form.fields, oid } });
    if (done.url.startsWith('http:')) return { redirect: new URL(done.url), formPost: false };
    const posted = formPostOf(done.res);
    return posted ? { redirect: posted, formPost: true } : { refused: done.res };
  }
}

/** The target and fields of oidc-provider's form_post page, when it is one aimed at an http loopback URI. */
function formPostOf(res: HttpsResponse): URL | undefined {
  if (res.status !== 200 || !res.body.includes('<title>Submitting Callback</title>')) return undefined;
  const action = /<form method="post" action="(http:\/\/[^"]+)">/.exec(res.body)?.[1];
  if (!action) return undefined;
  const url = new URL(decodeEntities(action));
  for (const [, name = '', value = ''] of res.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/>/g)) {
    url.searchParams.set(name, decodeEntities(value));
  }
  return url;
}

function decodeEntities(value: string): string {
  return value.replace(/&#(x?[0-9a-fA-F]+);|&(amp|lt|gt|quot);/g, (_m, code: string | undefined, named: string | undefined) => {
    if (code) return String.fromCodePoint(code.startsWith('x') ? parseInt(code.slice(1), 16) : parseInt(code, 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"' }[named ?? 'amp'] ?? '';
  });
}

/**
 * The whole code flow with PKCE as a console runs it, for tests: signs `oid` in at the tenant's
 * issuer (or, with `authority`, at that one, e.g. the organizations authority) through the login
 * page, redeems the code at the token endpoint and returns the access token. Throws when the
 * provider refuses the sign-in or the code.
 */
export async function accessTokenByCodeFlow(
  provider: { issuer(tenantId: string): string; caCert: string },
  options: { tenantId: string; oid: string; clientId: string; redirectUri: string; scope: string; authority?: string },
): Promise<string> {
  const issuer = options.authority ?? provider.issuer(options.tenantId);
  const { verifier, challenge } = pkcePair();
  const url = new URL(`${issuer}/auth`);
  const params = { client_id: options.clientId, response_type: 'code', redirect_uri: options.redirectUri, scope: options.scope, code_challenge: challenge, code_challenge_method: 'S256' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const result = await new BrowserDriver(provider.caCert).signIn(url.href, options.oid);
  if (!('redirect' in result)) throw new Error(`sign-in refused: ${result.refused.status}`);
  const res = await httpsRequest(`${issuer}/token`, {
    ca: provider.caCert,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: options.clientId, grant_type: 'authorization_code', code: result.redirect.searchParams.get('code') ?? '', redirect_uri: options.redirectUri, code_verifier: verifier }).toString(),
  });
  if (res.status !== 200) throw new Error(`the token endpoint answered ${res.status}: ${res.body.slice(0, 300)}`);
  return String((JSON.parse(res.body) as { access_token: unknown }).access_token);
}
