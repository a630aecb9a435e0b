/**
 * Who is making a request: a user, identified by an API token until Azure AD sign-in lands
 * (issue #4 swaps how a Principal is made, not what it is). `platformAdmin` is the MSP-wide
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
