import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import type { Clock } from '../clock';
import { issuerFor, KeysUnavailable, UnknownSigningKey, type TenantKeys } from './tenant-keys';

/*
 * Validates an Azure AD v2 access token for this API: RS256 only, signed by a current key of the
 * token's own tenant, issuer exactly `<authorityBase>/<tid>/v2.0`, our audience, `exp` and `nbf`
 * within a small clock skew, and the required scope in `scp`. Everything is refused with a
 * stable reason the caller records; nothing about a refused token is trusted.
 */

export type TokenRejection =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'missing_scope'
  | 'keys_unavailable';

export class TokenRejected extends Error {
  constructor(readonly reason: TokenRejection, message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

export interface AzureIdentity {
  tenantId: string;
  objectId: string;
  /** `name`, when the token carries it. */
  name: string | null;
  /** `preferred_username` (usually the UPN or email), when the token carries it. */
  username: string | null;
}

export const ALLOWED_ALGORITHMS = ['RS256'];
export const CLOCK_SKEW_SECONDS = 60;

const Uuid = z.uuid();
const Claims = z.object({
  tid: Uuid,
  oid: Uuid,
  scp: z.string().max(4096),
  name: z.string().max(200).optional(),
  preferred_username: z.string().max(320).optional(),
});

/**
 * The tenant a token claims to come from, read before any signature check so an unregistered
 * tenant is refused without contacting its provider. Trust nothing else from this.
 */
export function claimedTenant(token: string): string {
  let tid: unknown;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || !ALLOWED_ALGORITHMS.includes(header.alg)) {
      throw new TokenRejected('alg_not_allowed', `algorithm ${String(header.alg)} is not accepted`);
    }
    tid = decodeJwt(token).tid;
  } catch (err) {
    if (err instanceof TokenRejected) throw err;
    throw new TokenRejected('malformed', 'not a JWT');
  }
  const parsed = Uuid.safeParse(tid);
  if (!parsed.success) throw new TokenRejected('missing_claim', 'the token names no tenant (tid)');
  return parsed.data;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `aud` values accepted for a configured audience. Entra ID issues the bare client id when
 * the app manifest has `accessTokenAcceptedVersion: 2`, and `api://<client id>` (the application
 * ID URI) otherwise, so either form configured accepts exactly these two; anything else only itself.
 */
export function acceptedAudiences(configured: string): string[] {
  if (GUID.test(configured)) return [configured, `api://${configured}`];
  const uri = /^api:\/\/(.+)$/.exec(configured)?.[1];
  return uri && GUID.test(uri) ? [configured, uri] : [configured];
}

export interface AccessTokenVerifierOptions {
  authorityBase: string;
  /** The configured audience; see acceptedAudiences. */
  audience: string;
  /** The delegated scope the token must carry in `scp`. */
  scope: string;
  keys: TenantKeys;
  clock: Clock;
}

export interface AccessTokenVerifier {
  verify(token: string): Promise<AzureIdentity>;
}

function fromJoseError(err: unknown): TokenRejected {
  if (err instanceof TokenRejected) return err;
  if (err instanceof UnknownSigningKey) return new TokenRejected('unknown_key', err.message);
  if (err instanceof KeysUnavailable) return new TokenRejected('keys_unavailable', err.message);
  if (err instanceof errors.JWTExpired) return new TokenRejected('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new TokenRejected('not_yet_valid', 'the token is not valid yet');
    if (err.claim === 'iss') return new TokenRejected('wrong_issuer', 'the token was issued by another authority or tenant');
    if (err.claim === 'aud') return new TokenRejected('wrong_audience', 'the token is meant for another application');
    if (err.reason === 'missing') return new TokenRejected('missing_claim', `the token lacks the ${err.claim} claim`);
    return new TokenRejected('malformed', `claim ${err.claim}: ${err.reason}`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return new TokenRejected('bad_signature', 'the signature does not verify');
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenRejected('alg_not_allowed', 'algorithm not accepted');
  return new TokenRejected('malformed', 'the token does not parse');
}

export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const { authorityBase, scope, keys, clock } = options;
  const audience = acceptedAudiences(options.audience);
  return {
    async verify(token) {
      try {
        const tenantId = claimedTenant(token);
        const kid = decodeProtectedHeader(token).kid;
        if (typeof kid !== 'string' || kid.length === 0) throw new TokenRejected('malformed', 'the token names no signing key (kid)');
        const key = await keys.keyFor(tenantId, kid);
        const { payload } = await jwtVerify(token, key, {
          algorithms: ALLOWED_ALGORITHMS,
          issuer: issuerFor(authorityBase, tenantId),
          audience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: clock.now(),
          requiredClaims: ['exp', 'tid', 'oid', 'scp'],
        });
        const claims = Claims.safeParse(payload);
        if (!claims.success) throw new TokenRejected('missing_claim', `claims do not parse: ${claims.error.issues.map((i) => i.path.join('.')).join(', ')}`);
        if (claims.data.tid !== tenantId) throw new TokenRejected('wrong_issuer', 'tid changed between reads');
        if (!claims.data.scp.split(' ').includes(scope)) throw new TokenRejected('missing_scope', `the token lacks the ${scope} scope`);
        return {
          tenantId,
          objectId: claims.data.oid,
          name: claims.data.name ?? null,
          username: claims.data.preferred_username ?? null,
        };
      } catch (err) {
        throw fromJoseError(err);
      }
    },
  };
}
