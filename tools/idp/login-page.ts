import { createHash } from 'node:crypto';
import type { DevIdpTenant } from './tenants';

/*
 * The dev provider's sign-in page: the tenant's users as buttons, no passwords. Everything
 * interpolated is escaped; the page runs no script, and its one inline style is allowed by hash.
 */

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}'
  + 'form{margin:0}button{display:block;width:100%;text-align:left;margin:.4rem 0;padding:.7rem 1rem;border:1px solid #8a8886;'
  + 'border-radius:4px;background:#fff;font:inherit;cursor:pointer}button:hover{background:#f3f2f1}'
  + '.who{font-weight:600}.meta{color:#605e5c;font-size:.9em}.note{background:#fff4ce;padding:.6rem 1rem;border-radius:4px}'
  + '.cancel{border:none;color:#0067b8;background:none;padding:.4rem 0}h2{font-size:1.1rem;margin:1.6rem 0 .2rem}';

const styleHash = createHash('sha256').update(STYLE).digest('base64');

/**
 * The page's headers. `form-action` lists the loopback origins because browsers apply it to the
 * redirects that follow the form post, and the last of those goes to the console's loopback URI.
 */
export const LOGIN_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': [
    "default-src 'none'",
    `style-src 'sha256-${styleHash}'`,
    "form-action 'self' http://127.0.0.1:* http://localhost:*",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`
    + `<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** One form per user, posting `oid` (and the `tid` of the organizations page) to the login action. */
function userForms(users: DevIdpTenant['users'], actionPath: string, tenantId?: string): string {
  return users.map((u) => `<form method="post" action="${escapeHtml(actionPath)}">`
    + (tenantId ? `<input type="hidden" name="tid" value="${escapeHtml(tenantId)}">` : '')
    + `<input type="hidden" name="oid" value="${escapeHtml(u.oid)}">`
    + `<button type="submit"><span class="who">${escapeHtml(u.name)}</span><br>`
    + `<span class="meta">${escapeHtml(u.email)}${u.label ? ` · ${escapeHtml(u.label)}` : ''}</span></button></form>`).join('');
}

const DEV_NOTE = `<p class="note">Development identity provider: pick a user, no password is asked. Never use it outside a developer's machine.</p>`;

function cancelForm(cancelPath: string): string {
  return `<form method="post" action="${escapeHtml(cancelPath)}"><button class="cancel" type="submit">Cancel</button></form>`;
}

export function renderLoginPage(input: { tenant: DevIdpTenant; clientId: string; actionPath: string; cancelPath: string }): string {
  const { tenant } = input;
  return page(`Sign in to ${tenant.name}`, `<h1>Sign in to ${escapeHtml(tenant.name)}</h1>`
    + DEV_NOTE
    + `<p class="meta">Tenant ${escapeHtml(tenant.id)} · application ${escapeHtml(input.clientId)}</p>`
    + userForms(tenant.users, input.actionPath)
    + cancelForm(input.cancelPath));
}

/** The `organizations` authority's page: every tenant's users under the tenant's name (h2). */
export function renderOrganizationsLoginPage(input: { tenants: readonly DevIdpTenant[]; clientId: string; actionPath: string; cancelPath: string }): string {
  return page('Sign in', '<h1>Sign in</h1>'
    + DEV_NOTE
    + `<p class="meta">Any organization · application ${escapeHtml(input.clientId)}</p>`
    + input.tenants.map((t) => `<h2>${escapeHtml(t.name)}</h2><p class="meta">Tenant ${escapeHtml(t.id)}</p>${userForms(t.users, input.actionPath, t.id)}`).join('')
    + cancelForm(input.cancelPath));
}

export function renderProblemPage(message: string): string {
  return page('Sign-in problem', `<h1>Sign-in problem</h1><p>${escapeHtml(message)}</p>`);
}
