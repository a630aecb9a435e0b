import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorBody } from '../../protocol/errors';
import { GrantRole, Permission, ROLE_PERMISSIONS } from '../../protocol/permissions';
import { databaseKinds } from '../../tools/testing/postgres';
import { getTestServer, type TestResponse, type TestServer } from '../test-support';

/*
 * The access matrix, generic over the OpenAPI document the server serves: every route under
 * /api/orgs/{orgId} is called by a user of org A holding each role at A's root, with org B's ids
 * (404, never 403, never data), and with A's ids by every role lacking the route's x-permission
 * (403 forbidden). Routes added later are covered without touching this file.
 */

interface Operation {
  method: string;
  path: string;
  permission: Permission | undefined;
  /** The step-up action the route needs a proof for (x-step-up), tested with proofs in server/mfa. */
  stepUp: string | undefined;
  pathParams: Array<{ name: string; schema: JsonSchema }>;
  requiredQuery: Array<{ name: string; schema: JsonSchema }>;
  body: JsonSchema | undefined;
}

interface JsonSchema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  const?: unknown;
  enum?: unknown[];
  minLength?: number;
  minimum?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

interface OpenApiOperation {
  'x-permission'?: string;
  'x-step-up'?: string;
  /** `[]` on the one route that takes no credential (sign-in), tested in server/identity. */
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: JsonSchema }>;
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

/** Real ids of one org's objects, by the parameter or field name that carries them. */
type OrgIds = Record<string, string>;

function operationsOf(document: unknown): Operation[] {
  const paths = (document as { paths: Record<string, Record<string, OpenApiOperation>> }).paths;
  return Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).filter(([, op]) => op.security?.length !== 0).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      permission: op['x-permission'] === undefined ? undefined : Permission.parse(op['x-permission']),
      stepUp: op['x-step-up'],
      pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema })),
      requiredQuery: (op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => ({ name: p.name, schema: p.schema })),
      body: op.requestBody?.content['application/json']?.schema,
    })),
  );
}

let emails = 0;

/** A value the schema accepts; uuids named like a known object become that object's id. */
function example(schema: JsonSchema, name: string, ids: OrgIds): unknown {
  const choice = schema.oneOf?.[0] ?? schema.anyOf?.find((s) => s.type !== 'null');
  if (choice) return example(choice, name, ids);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, example(value, key, ids)]));
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => example(schema.items ?? {}, name, ids));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid') return ids[name] ?? randomUUID();
      if (schema.format === 'email') return `matrix${++emails}.${process.pid}@example.test`;
      if (schema.format === 'date-time') return new Date().toISOString();
      // Patterned strings in the API are GUID-shaped (an Azure tenant id); anything else gets the plain filler.
      if (schema.pattern && new RegExp(schema.pattern).test(randomUUID())) return randomUUID();
      return 'matrix'.padEnd(schema.minLength ?? 1, 'x');
    default:
      return null;
  }
}

/** Does the request name any object of `ids` other than the org itself? */
function namesObjects(op: Operation): boolean {
  const bodyUuids = JSON.stringify(op.body ?? {}).includes('"format":"uuid"');
  return op.pathParams.some((p) => p.name !== 'orgId') || bodyUuids;
}

function requestFor(op: Operation, ids: OrgIds): { url: string; body: unknown } {
  let url = op.path;
  for (const param of op.pathParams) url = url.replace(`{${param.name}}`, String(example(param.schema, param.name, ids)));
  const query = new URLSearchParams(op.requiredQuery.map((q) => [q.name, String(example(q.schema, q.name, ids))]));
  return { url: query.size > 0 ? `${url}?${query}` : url, body: op.body ? example(op.body, 'body', ids) : undefined };
}

const describeOp = (op: Operation) => `${op.method} ${op.path}`;
const errorCode = (res: TestResponse): string | undefined => {
  const parsed = ErrorBody.safeParse((() => { try { return res.json(); } catch { return undefined; } })());
  return parsed.success ? parsed.data.error.code : undefined;
};

describe.each(databaseKinds())('API access matrix on %s', (kind) => {
  let t: TestServer;
  let operations: Operation[];
  let orgRoutes: Operation[];
  let idsA: OrgIds;
  let idsB: OrgIds;
  const roleTokens = new Map<GrantRole, string>();

  /** Every object an org route can name, for one org, plus data that must never leak. */
  async function buildOrgObjects(name: string): Promise<OrgIds> {
    const org = await t.buildOrg(name);
    const unit = await t.buildUnit(org.id, `${name} site`);
    await t.buildUnit(org.id, `${name} ward`, unit.id);
    const { agentId } = await t.buildAgent(org.id, unit.id);
    const member = await t.buildUser({ orgId: org.id, name: `${name} member` });
    const { grantId } = await t.buildGrant(org.id, member.userId, 'viewer', unit.id);
    const owner = await t.buildUser({ orgId: org.id, role: 'tech', unitId: unit.id, name: `${name} owner` });
    const item = await t.request('/api/workspace/items', { method: 'POST', token: owner.token, body: { kind: 'note', title: `${name} secret note`, body: `${name} secret` } });
    const itemId = (item.json() as { id: string }).id;
    const shared = await t.request(`/api/orgs/${org.id}/units/${unit.id}/shared-items`, { method: 'POST', token: owner.token, body: { itemId } });
    expect(shared.status, shared.text).toBe(200);
    const script = await t.request(`/api/orgs/${org.id}/scripts`, { method: 'POST', token: owner.token, body: { unitId: unit.id, name: `${name} script`, language: 'bash', body: `echo ${name} secret`, parameters: [], timeoutSeconds: 60 } });
    expect(script.status, script.text).toBe(200);
    const scriptId = (script.json() as { script: { id: string } }).script.id;
    return { orgId: org.id, unitId: unit.id, parentId: unit.id, agentId, userId: member.userId, grantId, itemId, scriptId };
  }

  beforeAll(async () => {
    t = await getTestServer(kind);
    const document = await t.request('/api/openapi.json');
    expect(document.status).toBe(200);
    operations = operationsOf(document.json());
    orgRoutes = operations.filter((op) => op.path.startsWith('/api/orgs/{orgId}'));
    idsA = await buildOrgObjects('Clinic A');
    idsB = await buildOrgObjects('Clinic B');
    for (const role of GrantRole.options) {
      const orgId = idsA.orgId ?? '';
      roleTokens.set(role, (await t.buildUser({ orgId, role, unitId: null, name: `A ${role}` })).token);
    }
  });
  afterAll(async () => t?.close());

  const call = (op: Operation, ids: OrgIds, token: string | null) => {
    const { url, body } = requestFor(op, ids);
    return t.request(url, { method: op.method, token, ...(body === undefined ? {} : { body }) });
  };
  const tokenOf = (role: GrantRole) => roleTokens.get(role) ?? '';

  it('reads the routes from the served OpenAPI document', () => {
    expect(orgRoutes.length).toBeGreaterThanOrEqual(20);
    expect(orgRoutes.map(describeOp)).toEqual(expect.arrayContaining(['GET /api/orgs/{orgId}/units', 'POST /api/orgs/{orgId}/units/{unitId}/shared-items']));
  });

  it('every route under /api/orgs/{orgId} declares the permission it needs (x-permission)', () => {
    expect(orgRoutes.filter((op) => op.permission === undefined).map(describeOp)).toEqual([]);
  });

  it.each(GrantRole.options)('%s of org A asking with org B’s ids gets 404 not_found on every org route, never 403 or data', async (role) => {
    const failures: string[] = [];
    for (const op of orgRoutes) {
      const res = await call(op, idsB, tokenOf(role));
      if (res.status !== 404 || errorCode(res) !== 'not_found') failures.push(`${describeOp(op)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (res.text.includes('Clinic B')) failures.push(`${describeOp(op)} leaked org B data`);
    }
    expect(failures).toEqual([]);
  });

  it.each(GrantRole.options)('%s in org A naming org B’s objects gets 404 where it holds the permission, 403 where not, never 2xx', async (role) => {
    const failures: string[] = [];
    const orgAWithObjectsOfB = { ...idsB, orgId: idsA.orgId ?? '' };
    for (const op of orgRoutes.filter(namesObjects)) {
      const res = await call(op, orgAWithObjectsOfB, tokenOf(role));
      const held = op.permission !== undefined && ROLE_PERMISSIONS[role].has(op.permission);
      // A route needing a step-up proof refuses before looking anything up: no proof was sent.
      const expected = !held ? ['forbidden', 403] : op.stepUp ? ['step_up_required', 403] : ['not_found', 404];
      if (res.status !== expected[1] || errorCode(res) !== expected[0]) failures.push(`${describeOp(op)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (res.text.includes('Clinic B')) failures.push(`${describeOp(op)} leaked org B data`);
    }
    expect(failures).toEqual([]);
  });

  it.each(GrantRole.options)('%s of org A gets 403 forbidden on every org route whose permission the role lacks', async (role) => {
    const failures: string[] = [];
    const lacking = orgRoutes.filter((op) => op.permission !== undefined && !ROLE_PERMISSIONS[role].has(op.permission));
    for (const op of lacking) {
      const res = await call(op, idsA, tokenOf(role));
      if (res.status !== 403 || errorCode(res) !== 'forbidden') failures.push(`${describeOp(op)} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    if (role !== 'tenant_admin') expect(lacking.length, `${role} should lack something`).toBeGreaterThan(0);
  });

  it.each(GrantRole.options)('%s of org A holding the permission of a route that declares x-step-up gets 403 step_up_required without a proof, not forbidden', async (role) => {
    const failures: string[] = [];
    const guarded = orgRoutes.filter((op) => op.stepUp !== undefined && op.permission !== undefined && ROLE_PERMISSIONS[role].has(op.permission));
    for (const op of guarded) {
      const res = await call(op, idsA, tokenOf(role));
      if (res.status !== 403 || errorCode(res) !== 'step_up_required') failures.push(`${describeOp(op)} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    if (role === 'tenant_admin') expect(guarded.length, 'routes under /api/orgs/{orgId} declaring x-step-up').toBeGreaterThan(0);
  });

  it('without a token, or with a token that does not exist, every route answers 401 unauthenticated', async () => {
    const failures: string[] = [];
    for (const op of operations) {
      for (const token of [null, 'rmm_pat_not-a-real-token-at-all-000000000000']) {
        const res = await call(op, idsA, token);
        if (res.status !== 401 || errorCode(res) !== 'unauthenticated') failures.push(`${describeOp(op)} (${token ? 'bad' : 'no'} token) → ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  // Last: the admin's calls succeed, and some of them change org A.
  it('an MSP admin is never refused (no 403) on any route, except for the missing step-up proof where one is declared', async () => {
    const admin = await t.buildUser({ orgId: null, platformAdmin: true });
    const failures: string[] = [];
    for (const op of operations) {
      const res = await call(op, idsA, admin.token);
      const proofMissing = op.stepUp !== undefined && res.status === 403 && errorCode(res) === 'step_up_required';
      if ((res.status === 403 && !proofMissing) || res.status === 401) failures.push(`${describeOp(op)} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
  });
});
