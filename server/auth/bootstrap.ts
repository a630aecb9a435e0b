import type { Clock } from '../clock';
import { withScope, type Db } from '../db/database';
import { appendAudit } from '../audit/log';
import { createUser } from '../users/store';
import { issueApiToken, principalForToken } from './api-token';
import type { Principal } from './principal';

/*
 * The first admin. On first start the server writes a random operator token to its data folder
 * (mode 0600) and makes it the API token of an `Operator` staff user with the admin role, like
 * Teleport's initial join token: whoever can read the data folder is the first admin. Later
 * starts find the token already registered and change nothing.
 */
export async function ensureBootstrapAdmin(db: Db, clock: Clock, operatorToken: string): Promise<Principal> {
  const existing = await principalForToken(db, operatorToken);
  if (existing) return existing;
  const system = { type: 'system' } as const;
  const user = await withScope(db, { orgId: null }, async (tx) => {
    const created = await createUser(tx, { orgId: null, displayName: 'Operator', email: `operator+${Date.now().toString(36)}@localhost`, platformAdmin: true });
    await appendAudit(tx, {
      orgId: null,
      actor: system,
      action: 'user.created',
      target: { type: 'user', id: created.id },
      details: { displayName: created.displayName, email: created.email },
      time: clock.now(),
    });
    return created;
  });
  await issueApiToken(db, clock, { userId: user.id, auditOrgId: null, label: 'bootstrap operator token', actor: system, token: operatorToken });
  const principal = await principalForToken(db, operatorToken);
  if (!principal) throw new Error('the bootstrap operator token was stored but does not authenticate');
  return principal;
}
