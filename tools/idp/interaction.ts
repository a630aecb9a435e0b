import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { LOGIN_PAGE_HEADERS, renderLoginPage, renderProblemPage } from './login-page';
import type { PickTickets } from './organizations';
import { PICK_TICKET_PARAM } from './tenant-provider';
import type { DevIdpTenant } from './tenants';

/*
 * The login step of the provider's interaction: GET shows the tenant's users, POST .../login
 * signs one in (only a user of this tenant), POST .../cancel returns access_denied to the client.
 * The interaction itself (and its cookie) is oidc-provider's; we only finish it. A request sent on
 * by the organizations page carries a pick ticket: valid (once, this tenant's, not expired), it
 * finishes the step with the user picked there (or the cancel) without showing this page again;
 * otherwise the page is shown as usual.
 */

const LoginForm = z.object({ oid: z.uuid() });
const MAX_FORM_BYTES = 4096;

export interface InteractionContext {
  provider: Provider;
  tenant: DevIdpTenant;
  clientId: string;
  /** `/<tenantId>/v2.0` */
  mount: string;
  /** The path below the mount: `/interaction/<uid>[/login|/cancel]`. */
  path: string;
  tickets: PickTickets;
}

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]{1,100})(\/login|\/cancel)?$/;

export async function handleInteraction(req: IncomingMessage, res: ServerResponse, ctx: InteractionContext): Promise<void> {
  const route = ROUTE.exec(ctx.path.split('?')[0] ?? '');
  const uid = route?.[1];
  const action = route?.[2];
  if (!uid) return problem(res, 404, 'No such page.');
  if ((action === undefined) !== (req.method === 'GET')) return problem(res, 405, 'Method not allowed.');

  let details: Awaited<ReturnType<Provider['interactionDetails']>>;
  try {
    details = await ctx.provider.interactionDetails(req, res);
  } catch {
    return problem(res, 400, 'This sign-in has expired or was started elsewhere. Start again from the application.');
  }
  if (details.uid !== uid) return problem(res, 400, 'This sign-in does not match the current one. Start again from the application.');

  if (action === undefined) {
    if (details.prompt.name !== 'login') return problem(res, 400, `Unexpected step '${details.prompt.name}' (${details.prompt.reasons.join(', ')}).`);
    const ticketId = details.params[PICK_TICKET_PARAM];
    const ticket = typeof ticketId === 'string' ? ctx.tickets.take(ticketId) : undefined;
    if (ticket?.tenantId === ctx.tenant.id) {
      if (ticket.oid === null) return cancel(req, res, ctx);
      const picked = ctx.tenant.users.find((u) => u.oid === ticket.oid);
      if (picked) return signIn(req, res, ctx, picked.oid);
    }
    const base = `${ctx.mount}/interaction/${uid}`;
    res.writeHead(200, LOGIN_PAGE_HEADERS).end(renderLoginPage({ tenant: ctx.tenant, clientId: ctx.clientId, actionPath: `${base}/login`, cancelPath: `${base}/cancel` }));
    return;
  }

  if (action === '/cancel') return cancel(req, res, ctx);

  const form = await readForm(req);
  const parsed = form === undefined ? undefined : LoginForm.safeParse(Object.fromEntries(form));
  if (!parsed?.success) return problem(res, 400, 'The sign-in form was not valid.');
  const user = ctx.tenant.users.find((u) => u.oid === parsed.data.oid);
  if (!user) return problem(res, 403, `That user is not in ${ctx.tenant.name}.`);
  await signIn(req, res, ctx, user.oid);
}

async function signIn(req: IncomingMessage, res: ServerResponse, ctx: InteractionContext, oid: string): Promise<void> {
  await ctx.provider.interactionFinished(req, res, { login: { accountId: oid, remember: false } }, { mergeWithLastSubmission: false });
}

async function cancel(req: IncomingMessage, res: ServerResponse, ctx: InteractionContext): Promise<void> {
  await ctx.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in' }, { mergeWithLastSubmission: false });
}

function problem(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, LOGIN_PAGE_HEADERS).end(renderProblemPage(message));
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
