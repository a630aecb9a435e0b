import type Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import { z } from 'zod';
import { ErrorBody } from '../../protocol/errors';
import type { Principal } from '../auth/principal';
import { AuthenticationError, ValidationError } from '../errors';
import type { ServerContext } from '../context';

/*
 * One declaration per API route: method, path, input and output schemas, and the handler.
 * The same declaration mounts the route on Koa and describes it in the OpenAPI document, so the
 * two cannot drift. Handlers receive parsed `input` and never touch raw request data; their return
 * value is parsed by the response schema, which strips any field the schema does not name.
 */

type AnyObject = z.ZodType<Record<string, unknown>>;
const Empty = z.object({}).strict();

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteCall<P, Q, B> {
  input: RouteInput<P, Q, B>;
  principal: Principal;
  server: ServerContext;
  ip: string;
}

export interface ApiRoute<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends AnyObject = AnyObject, R extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa-style path: /api/orgs/:orgId */
  path: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  handler: (call: RouteCall<z.output<P>, z.output<Q>, z.output<B>>) => Promise<z.input<R>>;
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

export type Authenticate = (authorization: string | undefined) => Principal | undefined;

export function mountRoutes(router: Router, routes: ApiRoute[], server: ServerContext, authenticate: Authenticate): void {
  for (const route of routes) {
    router[route.method](route.path, async (ctx: ParameterizedContext) => {
      const principal = authenticate(ctx.get('authorization') || undefined);
      if (!principal) throw AuthenticationError();
      const input = {
        params: parseOrThrow(route.params ?? Empty, ctx.params, 'params'),
        query: parseOrThrow(route.query ?? Empty, ctx.query, 'query'),
        body: parseOrThrow(route.body ?? Empty, (ctx.request as { body?: unknown }).body ?? {}, 'body'),
      } as RouteInput<Record<string, unknown>, Record<string, unknown>, Record<string, unknown>>;
      const value = await route.handler({ input, principal, server, ip: ctx.ip });
      ctx.body = route.response.parse(value);
    });
  }
}

/** OpenAPI 3.1 document for the declared routes, from the same zod schemas. */
export function openApiDocument(routes: ApiRoute[], info: { title: string; version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  // OpenAPI 3.1 schemas are JSON Schema 2020-12, zod's default target.
  const json = (schema: z.ZodType) => {
    const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'output' });
    return rest;
  };
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: json(ErrorBody) } } });
  for (const route of routes) {
    const openApiPath = route.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [location, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      const shape = json(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(shape.properties ?? {})) {
        parameters.push({ name, in: location, required: location === 'path' || (shape.required ?? []).includes(name), schema: property });
      }
    }
    paths[openApiPath] ??= {};
    paths[openApiPath][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${openApiPath.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      security: [{ bearer: [] }],
      parameters,
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(route.body) } } } } : {}),
      responses: {
        '200': { description: 'OK', content: { 'application/json': { schema: json(route.response) } } },
        '400': errorResponse('Invalid input (code validation_failed)'),
        '401': errorResponse('Not signed in (code unauthenticated)'),
        '403': errorResponse('Not allowed (code forbidden)'),
        '404': errorResponse('No such resource in this org (code not_found)'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
