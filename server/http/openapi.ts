import { z } from 'zod';
import { ErrorBody } from '../../protocol/errors';
import { STEP_UP_HEADER } from '../../protocol/mfa';
import { StreamResponse, type ApiRoute } from './route';

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
    if (route.stepUp) {
      parameters.push({ name: STEP_UP_HEADER, in: 'header', required: true, description: `A step-up proof for ${route.stepUp} (POST /api/me/mfa/step-up)`, schema: { type: 'string' } });
    } else if (route.stepUpWhen) {
      const { action, when } = route.stepUpWhen;
      parameters.push({ name: STEP_UP_HEADER, in: 'header', required: false, description: `A step-up proof for ${action} (POST /api/me/mfa/step-up), needed when ${when}`, schema: { type: 'string' } });
    }
    const ok = route.response === StreamResponse
      ? { description: 'OK (streamed)', content: Object.fromEntries((route.produces ?? ['application/octet-stream']).map((type) => [type, { schema: { type: 'string' } }])) }
      : { description: 'OK', content: { 'application/json': { schema: json(route.response) } } };
    paths[openApiPath] ??= {};
    paths[openApiPath][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${openApiPath.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      security: route.publicHandler ? [] : [{ bearer: [] }],
      ...(route.permission ? { 'x-permission': route.permission } : {}),
      ...(route.adminOnly ? { 'x-admin-only': true } : {}),
      ...(route.audit ? { 'x-audit-action': route.audit } : {}),
      ...(route.stepUp ? { 'x-step-up': route.stepUp } : {}),
      ...(route.stepUpWhen ? { 'x-step-up-conditional': route.stepUpWhen } : {}),
      parameters,
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: json(route.body) } } } } : {}),
      responses: {
        '200': ok,
        '400': errorResponse('Invalid input (code validation_failed)'),
        '401': errorResponse('Not signed in (code unauthenticated)'),
        '403': errorResponse(route.stepUp || route.stepUpWhen
          ? 'Not allowed (code forbidden), or the step-up proof is missing (step_up_required) or not valid (step_up_invalid)'
          : 'Not allowed (code forbidden)'),
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
