import { canAccessOrg, type Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { NotFoundError } from '../errors';
import { findOrg } from './store';
import type { Org } from '../../protocol/api';

/**
 * The org must exist and the principal must be allowed in it. Both failures answer 404, so a
 * caller cannot tell another client's org from one that does not exist.
 */
export async function requireOrg(server: ServerContext, principal: Principal, orgId: string): Promise<Org> {
  const org = canAccessOrg(principal, orgId) ? await findOrg(server.db, orgId) : undefined;
  if (!org) throw NotFoundError('No such organisation');
  return org;
}
