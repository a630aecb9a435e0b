import type { Readable } from 'node:stream';
import type Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { z } from 'zod';
import type { AuditAction } from '../../protocol/audit-actions';
import type { StepUpAction } from '../../protocol/mfa';
import { ORG_SCOPED, type Permission } from '../../protocol/permissions';
import { loadOrgContext, type OrgContext } from '../access/org-access';
import { appendAudit, type AuditRecord } from '../audit/log';
import { auditActor, type Principal } from '../auth/principal';
import type { ServerContext } from '../context';
import { withScope, type Tx } from '../db/database';
import { AppError, AuthenticationError, AuthorizationError, AuthorizationFailure, StepUpFailure, ValidationError } from '../errors';
import { consumeStepUpProof } from '../mfa/step-up';

/*
 * One declaration per API route: method, path, the permission it needs, input and output
 * schemas, the audit action it records, and the handler. The same declaration mounts the route
 * on Koa and describes it in the OpenAPI document, so the two cannot drift.
 *
 * Order of checks for a route under /api/orgs/:orgId: authenticate (401) → the org exists and the
 * caller holds something in it (else 404, like an org that does not exist) → the route's
 * permission (403, audited as denied) → input parsing (400) → step-up proof for routes that
 * declare `stepUp` (403 step_up_required / step_up_invalid, audited as denied) → handler. Handlers get parsed input
 * and never touch raw request data; their return value is parsed by the response schema, which
 * strips any field it does not name.
 */

type AnyObject = z.ZodType<Record<string, unknown>>;
const Empty = z.object({}).strict();

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

/** Audit an action in the call's org, as the caller, from the caller's address. */
export type CallAudit = <A extends AuditAction>(tx: Tx, record: Omit<AuditRecord<A>, 'orgId' | 'actor' | 'source' | 'time'> & { orgId?: string | null }) => Promise<unknown>;

export interface RouteCall<P, Q, B> {
  input: RouteInput<P, Q, B>;
  principal: Principal;
  server: ServerContext;
  ip: string;
  userAgent: string | null;
  /** Present for routes under /api/orgs/:orgId: the org and what the caller may do in it. */
  org: OrgContext | undefined;
  audit: CallAudit;
  /**
   * Uses the request's step-up proof (X-Step-Up header) for `action`, or throws 403
   * step_up_required / step_up_invalid. For handlers whose need for a proof depends on state
   * (re-enrolment, another user's session), declared with `stepUpWhen`; fixed needs are declared
   * with `stepUp` on the route.
   */
  requireStepUp(action: StepUpAction): Promise<void>;
}

/** A route that streams its body (exports) instead of returning JSON. */
export interface StreamBody {
  stream: Readable;
  contentType: string;
  filename: string;
  /** Extra response headers, e.g. a count the client shows progress against. */
  headers?: Record<string, string>;
}
export const StreamResponse = z.custom<StreamBody>((value) => typeof value === 'object' && value !== null && 'stream' in value);

export interface ApiRoute<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends AnyObject = AnyObject, R extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa-style path: /api/orgs/:orgId */
  path: string;
  summary: string;
  tag: string;
  /**
   * The permission the caller must hold. Org-scoped permissions must be held at the org level;
   * unit-scoped ones on at least one unit (the handler then checks the unit it acts on). Absent:
   * any signed-in user (the caller's own things, like their workspace).
   */
  permission?: Permission;
  /** Only MSP admins (the platform `admin` role) may call it: checked with the permission, before any input is read. */
  adminOnly?: boolean;
  /** The action this route records; a call that fails or is refused records it as failed/denied. */
  audit?: AuditAction;
  /** The sensitive action this route performs: the caller must present a fresh step-up proof for it (docs/mfa.md). */
  stepUp?: StepUpAction;
  /**
   * A proof the handler asks for only in some cases (`requireStepUp(action)`), e.g. ending
   * another user's session but not one's own. Declared so the OpenAPI document says when; a
   * handler asking for an action its route does not declare is a programming error.
   */
  stepUpWhen?: { action: StepUpAction; when: string };
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** For StreamResponse routes: the media types the stream may have, for the OpenAPI document. */
  produces?: string[];
  handler: (call: RouteCall<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.input<R>>;
  /**
   * Set only by publicApiRoute: the route takes no credential (sign-in itself) and this handler
   * runs instead of `handler`, with no principal, org or audit helper; it records its own audit.
   */
  publicHandler?: (call: PublicRouteCall<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.input<R>>;
}

/** What an unauthenticated route's handler gets: parsed input and where the call came from. */
export interface PublicRouteCall<P, Q, B> {
  input: RouteInput<P, Q, B>;
  server: ServerContext;
  ip: string;
  userAgent: string | null;
}

type PublicApiRouteDeclaration<P extends AnyObject, Q extends AnyObject, B extends AnyObject, R extends z.ZodType> =
  Omit<ApiRoute<P, Q, B, R>, 'permission' | 'handler' | 'publicHandler'> & {
    handler: (call: PublicRouteCall<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.input<R>>;
  };

/**
 * Declares a route that needs no credential. Only for obtaining one (POST /api/auth/session):
 * it cannot sit under /api/orgs/:orgId and holds no permission.
 */
export function publicApiRoute<P extends AnyObject = typeof Empty, Q extends AnyObject = typeof Empty, B extends AnyObject = typeof Empty, R extends z.ZodType = z.ZodType>(
  route: PublicApiRouteDeclaration<P, Q, B, R>,
): ApiRoute {
  if (route.path.includes(':orgId')) throw new Error(`public route ${route.path} cannot be org-scoped`);
  return {
    ...route,
    publicHandler: route.handler,
    handler: () => Promise.reject(new Error(`public route ${route.path} has no authenticated handler`)),
  } as unknown as ApiRoute;
}

/** Declares a route with inference on its schemas. */
export function apiRoute<P extends AnyObject = typeof Empty, Q extends AnyObject = typeof Empty, B extends AnyObject = typeof Empty, R extends z.ZodType = z.ZodType>(
  route: ApiRoute<P, Q, B, R>,
): ApiRoute {
  return route as unknown as ApiRoute;
}

function parseOrThrow(schema: z.ZodType, value: unknown, where: string): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw ValidationError(`Invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

export type Authenticate = (authorization: string | undefined) => Promise<Principal | undefined>;

const UUID = z.uuid();

/** Whether the principal holds `permission` where the route needs it (before any unit is known). */
export function holdsRoutePermission(org: OrgContext, permission: Permission): boolean {
  if (ORG_SCOPED.has(permission) || org.can(permission, null)) return org.can(permission, null);
  return org.unitsWith(permission).size > 0;
}

export function mountRoutes(router: Router, routes: ApiRoute[], server: ServerContext, authenticate: Authenticate): void {
  for (const route of routes) {
    router[route.method](route.path, async (ctx: ParameterizedContext) => {
      if (route.publicHandler) {
        const input = {
          params: parseOrThrow(route.params ?? Empty, ctx.params, 'params'),
          query: parseOrThrow(route.query ?? Empty, ctx.query, 'query'),
          body: parseOrThrow(route.body ?? Empty, (ctx.request as { body?: unknown }).body ?? {}, 'body'),
        } as RouteInput<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>;
        const value = await route.publicHandler({ input, server, ip: ctx.ip, userAgent: ctx.get('user-agent').slice(0, 300) || null });
        ctx.body = route.response.parse(value);
        return;
      }
      const principal = await authenticate(ctx.get('authorization') || undefined);
      if (!principal) throw AuthenticationError();
      const ip = ctx.ip;
      const userAgent = ctx.get('user-agent').slice(0, 300) || null;
      const source = { ip, userAgent };
      const params = ctx.params as Record<string, string>;

      let org: OrgContext | undefined;
      if (route.path.includes(':orgId')) {
        if (!UUID.safeParse(params.orgId).success) {
          throw ValidationError('Invalid params: params.orgId: Invalid UUID', [{ path: 'params.orgId', message: 'Invalid UUID' }]);
        }
        org = await loadOrgContext(server.db, principal, params.orgId ?? '');
      }
      const orgId = org?.org.id ?? null;
      const audit: CallAudit = (tx, record) =>
        appendAudit(tx, { ...record, orgId: record.orgId === undefined ? orgId : record.orgId, actor: auditActor(principal), source, time: server.clock.now() } as AuditRecord);
      const target = () => {
        const id = Object.entries(params).filter(([k]) => k !== 'orgId').at(-1);
        return id ? { type: id[0].replace(/Id$/, ''), id: id[1] } : null;
      };

      const requireStepUp = async (action: StepUpAction): Promise<void> => {
        if (action !== route.stepUp && action !== route.stepUpWhen?.action) {
          throw new Error(`${route.method.toUpperCase()} ${route.path} asks for a step-up proof for ${action} without declaring it (stepUp or stepUpWhen)`);
        }
        const proof = ctx.get('x-step-up');
        if (!proof) throw new StepUpFailure('step_up_required', `This needs a step-up proof for ${action} in the X-Step-Up header`);
        const check = await consumeStepUpProof(server.db, server.clock, { userId: principal.userId, action, proof });
        if (check !== 'ok') throw new StepUpFailure('step_up_invalid', `The step-up proof is not valid for ${action} (${check.replace('_', ' ')})`);
      };

      try {
        if (route.permission && org && !holdsRoutePermission(org, route.permission)) {
          throw AuthorizationError(`You need the ${route.permission} permission`, route.permission);
        }
        if (route.adminOnly && !principal.platformAdmin) {
          throw AuthorizationError('Only MSP admins may do this', route.permission);
        }
        const input = {
          params: parseOrThrow(route.params ?? Empty, params, 'params'),
          query: parseOrThrow(route.query ?? Empty, ctx.query, 'query'),
          body: parseOrThrow(route.body ?? Empty, (ctx.request as { body?: unknown }).body ?? {}, 'body'),
        } as RouteInput<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>;
        if (route.stepUp) await requireStepUp(route.stepUp);
        const value = await route.handler({ input, principal, server, ip, userAgent, org, audit, requireStepUp });
        if (route.response === StreamResponse) {
          const body = value as StreamBody;
          ctx.type = body.contentType;
          ctx.attachment(body.filename);
          for (const [name, headerValue] of Object.entries(body.headers ?? {})) ctx.set(name, headerValue);
          ctx.body = body.stream;
        } else {
          ctx.body = route.response.parse(value);
        }
      } catch (err) {
        const runInOrg = (fn: (tx: Tx) => Promise<unknown>) => withScope(server.db, { orgId }, fn);
        await recordRefusal(err, { route, audit, target: target(), runInOrg }).catch((auditErr: unknown) =>
          server.log.error({ err: auditErr, route: route.path }, 'could not record a refused or failed call in the audit log'),
        );
        throw err;
      }
    });
  }
}

/** A refused call is recorded as denied; a failed change (a route with `audit`) as failed. Bad input is not recorded. */
async function recordRefusal(
  err: unknown,
  options: { route: ApiRoute; audit: CallAudit; target: { type: string; id: string } | null; runInOrg: (fn: (tx: Tx) => Promise<unknown>) => Promise<unknown> },
): Promise<void> {
  const { route, audit, target, runInOrg } = options;
  if (err instanceof AuthorizationFailure || err instanceof StepUpFailure) {
    const permission = (err instanceof AuthorizationFailure ? err.permission : undefined) ?? route.permission ?? 'org.read';
    await runInOrg((tx) =>
      route.audit
        ? audit(tx, { action: route.audit, outcome: 'denied', target })
        : audit(tx, { action: 'access.denied', outcome: 'denied', target, details: { permission, route: `${route.method.toUpperCase()} ${route.path}` } }),
    );
    return;
  }
  const action = route.audit;
  if (!action) return;
  if (err instanceof AppError && err.code === 'validation_failed') return;
  await runInOrg((tx) => audit(tx, { action, outcome: 'failed', target }));
}
