import Router from '@koa/router';
import Koa from 'koa';
import { ZodError } from 'zod';
import { Health } from '../../protocol/api';
import { AppError, RateLimitedFailure } from '../errors';
import type { ServerContext } from '../context';
import { openApiDocument } from './openapi';
import { mountRoutes, type ApiRoute, type Authenticate } from './route';

const HSTS = 'max-age=63072000; includeSubDomains';
const MAX_JSON_BODY_BYTES = 1024 * 1024;

/** The Koa application: security headers, errors as stable codes, metrics, and the API routes. */
export function createApp(server: ServerContext, routes: ApiRoute[], authenticate: Authenticate): Koa {
  const app = new Koa({ proxy: false });
  app.silent = true;

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    ctx.set('Strict-Transport-Security', HSTS);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    ctx.set('Cache-Control', 'no-store');
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'not_found', `No route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const known = err instanceof AppError ? err : undefined;
      ctx.status = known?.status ?? 500;
      if (known instanceof RateLimitedFailure) ctx.set('Retry-After', String(Math.max(1, Math.ceil(known.retryAfterSeconds))));
      ctx.body = {
        error: {
          code: known?.code ?? 'internal',
          message: known?.message ?? 'Internal server error',
          ...(known?.issues ? { issues: known.issues } : {}),
        },
      };
      if (!known) server.log.error({ err, path: ctx.path }, 'request failed');
    } finally {
      const route = (ctx as { routePath?: string }).routePath ?? (ctx.status === 404 ? 'unmatched' : ctx.path);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      server.metrics.httpRequests.inc({ method: ctx.method, route, status: String(ctx.status) });
      server.metrics.httpSeconds.observe({ route }, seconds);
    }
  });

  app.use(readJsonBody);

  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = Health.parse({ status: 'ok' });
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = server.metrics.registry.contentType;
    ctx.body = await server.metrics.registry.metrics();
  });
  const document = openApiDocument(routes, { title: 'RMM API', version: '0.1.0' });
  router.get('/api/openapi.json', (ctx) => {
    ctx.body = document;
  });
  mountRoutes(router, routes, server, authenticate);
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true, methodNotAllowed: () => new AppError(405, 'bad_request', 'Method not allowed') }));
  return app;
}

/** JSON bodies only, size-capped, parsed before routes; the route's zod schema does the rest. */
async function readJsonBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  if (!['POST', 'PUT', 'PATCH'].includes(ctx.method)) return next();
  // An action without a body (POST …/activate) needs no content type.
  if (!ctx.get('content-length') && !ctx.get('transfer-encoding')) return next();
  if (ctx.get('content-length') === '0') return next();
  if (!ctx.is('application/json')) throw new AppError(415, 'bad_request', 'Request body must be application/json');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_JSON_BODY_BYTES) throw new AppError(413, 'payload_too_large', `Body larger than ${MAX_JSON_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY_BYTES) throw new AppError(413, 'payload_too_large', `Body larger than ${MAX_JSON_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof ZodError) throw new AppError(400, 'bad_request', 'Body is not valid JSON');
    throw err;
  }
  return next();
}
