/**
 * Who is making a request. For now the only human principal is the operator holding the
 * bootstrap token; Azure AD users with roles and unit grants replace it (issues #3, #4) and every
 * access decision already goes through `canAccessOrg` so the swap touches one place.
 */
export type Principal = { kind: 'operator'; id: 'operator'; displayName: string };

export function canAccessOrg(principal: Principal, _orgId: string): boolean {
  return principal.kind === 'operator';
}
