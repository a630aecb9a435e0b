import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { Clock } from '../../server/clock';
import { systemClock } from '../../server/clock';
import { loadOrCreateCertificate } from '../../server/tls/certificate';
import { handleInteraction } from './interaction';
import { loadOrCreateIdpKeys } from './keys';
import { DevIdpMemoryStore } from './memory-store';
import { createOrganizationsHandler, ORGANIZATIONS_MOUNT, PickTickets, type OrganizationsTenant } from './organizations';
import { createTenantProvider, withEntraPrompt } from './tenant-provider';
import { DEMO_CLIENT_ID, DEMO_TENANTS, DevIdpTenant } from './tenants';

/*
 * The dev identity provider: Entra-shaped OpenID Connect over HTTPS on loopback, one issuer per
 * tenant at https://127.0.0.1:<port>/<tenantId>/v2.0, and the multi-tenant authority
 * https://127.0.0.1:<port>/organizations/v2.0 in front of them (organizations.ts). See
 * docs/identity.md.
 */

export const DevIdpOptions = z.object({
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8444),
  /** Keeps the signing keys and the TLS certificate across restarts; unset: a temporary folder. */
  dataDir: z.string().min(1).optional(),
  tenants: z.array(DevIdpTenant).min(1).default([...DEMO_TENANTS]).refine((ts) => new Set(ts.map((t) => t.id)).size === ts.length, 'tenant ids must be unique'),
  /** The console's public client id. */
  clientId: z.uuid().default(DEMO_CLIENT_ID),
  /** The API's client id; tokens carry `aud: api://<apiClientId>`. Usually the same registration. */
  apiClientId: z.uuid().default(DEMO_CLIENT_ID),
  accessTokenTtlSeconds: z.number().int().min(60).max(24 * 3600).default(3600),
});
export type DevIdpOptionsInput = z.input<typeof DevIdpOptions>;

export interface DevIdp {
  /** `https://127.0.0.1:<port>` */
  url: string;
  port: number;
  issuer(tenantId: string): string;
  /** `https://127.0.0.1:<port>/organizations/v2.0`: one authority for the users of every tenant. */
  organizationsAuthority: string;
  /** PEM of the self-signed certificate: trust it (`ca`, NODE_EXTRA_CA_CERTS) to talk to the provider. */
  caCert: string;
  caCertFile: string;
  tenants: readonly DevIdpTenant[];
  clientId: string;
  apiClientId: string;
  close(): Promise<void>;
}

const TENANT_PATH = /^\/([0-9a-fA-F-]{36})\/v2\.0(\/[^?]*)?(\?.*)?$/;

export async function startDevIdp(input: DevIdpOptionsInput & { clock?: Clock }): Promise<DevIdp> {
  const { clock = systemClock, ...rest } = input;
  const options = DevIdpOptions.parse(rest);
  const temporary = options.dataDir ? undefined : mkdtempSync(path.join(tmpdir(), 'rmm-idp-'));
  const dataDir = options.dataDir ?? temporary ?? '';
  const certificate = await loadOrCreateCertificate({ dataDir }, clock);
  const keys = loadOrCreateIdpKeys(dataDir, options.tenants.map((t) => t.id));
  const providers = new Map<string, { provider: Provider; tenant: DevIdpTenant; serve: ReturnType<Provider['callback']> }>();
  const tickets = new PickTickets(clock);
  let allowedHosts = new Set<string>();
  let organizations: ((req: IncomingMessage, res: ServerResponse, pathAndQuery: string) => Promise<void>) | undefined = undefined;

  const fail = (res: ServerResponse) => (err: unknown) => {
    process.stderr.write(`dev identity provider: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  };

  /** Hands a request to a tenant's provider at `inner` (path and query below its mount). */
  const forward = (tenantId: string, req: IncomingMessage, res: ServerResponse, inner: string) => {
    const entry = providers.get(tenantId.toLowerCase());
    if (!entry) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found', error_description: 'unknown tenant or path' }));
      return;
    }
    if (inner.startsWith('/interaction/')) {
      handleInteraction(req, res, { ...entry, clientId: options.clientId, mount: mountOf(entry.tenant.id), path: inner, tickets }).catch(fail(res));
      return;
    }
    // oidc-provider finds its mount path from originalUrl minus url, like under Express/koa-mount.
    Object.assign(req, { originalUrl: `${mountOf(entry.tenant.id)}${inner}` });
    req.url = inner;
    void entry.serve(req, res);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // Loopback names only, so a DNS-rebinding page cannot talk to the provider under its own name.
    if (!allowedHosts.has(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'misdirected_request', error_description: 'use 127.0.0.1 or localhost' }));
      return;
    }
    const requestUrl = req.url ?? '';
    if (organizations && (requestUrl === ORGANIZATIONS_MOUNT || requestUrl.startsWith(`${ORGANIZATIONS_MOUNT}/`) || requestUrl.startsWith(`${ORGANIZATIONS_MOUNT}?`))) {
      organizations(req, res, requestUrl.slice(ORGANIZATIONS_MOUNT.length) || '/').catch(fail(res));
      return;
    }
    const match = TENANT_PATH.exec(requestUrl);
    if (!match?.[1]) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not_found', error_description: 'unknown tenant or path' }));
      return;
    }
    forward(match[1], req, res, withEntraPrompt(`${match[2] ?? '/'}${match[3] ?? ''}`));
  };

  const server: Server = createServer({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' }, handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const url = `https://127.0.0.1:${port}`;
  const issuer = (tenantId: string) => `${url}${mountOf(tenantId)}`;

  const stores: OrganizationsTenant[] = [];
  for (const tenant of options.tenants) {
    const store = new DevIdpMemoryStore(clock);
    const signingKey = keys.signing[tenant.id];
    if (!signingKey) throw new Error(`no signing key for tenant ${tenant.id}`);
    const provider = createTenantProvider({
      tenant,
      issuer: issuer(tenant.id),
      clientId: options.clientId,
      apiClientId: options.apiClientId,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
      signingKey,
      cookieKeys: keys.cookies,
      // A store per tenant: a code or refresh token of one tenant means nothing at another.
      store,
      clock,
      interactionPath: (uid) => `${mountOf(tenant.id)}/interaction/${uid}`,
    });
    providers.set(tenant.id.toLowerCase(), { provider, tenant, serve: provider.callback() });
    stores.push({ tenant, store, signingKey });
  }
  organizations = createOrganizationsHandler({ url, clientId: options.clientId, tenants: stores, tickets, clock, forward });

  return {
    url,
    port,
    issuer,
    organizationsAuthority: `${url}${ORGANIZATIONS_MOUNT}`,
    caCert: certificate.cert,
    caCertFile: certificate.certFile,
    tenants: options.tenants,
    clientId: options.clientId,
    apiClientId: options.apiClientId,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (temporary) rmSync(temporary, { recursive: true, force: true });
    },
  };
}

function mountOf(tenantId: string): string {
  return `/${tenantId}/v2.0`;
}
