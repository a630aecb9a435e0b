/**
 * Who is making a request: a user, identified by a server session (Azure AD sign-in) or an API
 * token; both make the same Principal. `platformAdmin` is the MSP-wide
 * `admin` role; everything else comes from grants, resolved per org by server/access.
 */
export interface Principal {
  kind: 'user';
  userId: string;
  displayName: string;
  email: string;
  platformAdmin: boolean;
  /** The user's home org; null for the MSP's own staff. */
  homeOrgId: string | null;
  /** The credential this request presented. */
  tokenId: string;
  /** Set when the credential is a server session (Azure AD sign-in) rather than an API token. */
  sessionId?: string;
}

/** How the principal appears as an audit actor. */
export function auditActor(principal: Principal): { type: 'user'; id: string; name: string } {
  return { type: 'user', id: principal.userId, name: principal.displayName };
}
