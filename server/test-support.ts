import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseFingerprint } from '../agent/tls-trust';
import { provisionAgent } from './agents/provision';
import type { Clock } from './clock';
import { loadServerConfig, type ServerConfigInput } from './config';
import type { GrantRole } from '../protocol/permissions';
import type { StepUpAction } from '../protocol/mfa';
import { issueApiToken } from './auth/api-token';
import { withOrg, withScope, type DatabaseKind } from './db/database';
import { createGrant } from './grants/store';
import { createUser } from './users/store';
import { createTestDatabase, type TestDatabase } from './db/testing';
import { createOrg } from './orgs/store';
import { startServer, type RunningServer } from './server';
import { createUnit } from './units/store';
import { DEFAULT_MFA_LIMITS } from './mfa/limits';
import { stepUp } from './mfa/testing';

/*
 * A real server on a free loopback port with a fresh database, plus factories for the state a
 * test needs (Outline's getTestServer/buildX shape).
 */

export interface TestServer {
  server: RunningServer;
  database: TestDatabase;
  token: string;
  ca: string;
  dataDir: string;
  /** Pin for agents: sha256 of the server certificate. */
  pin: Buffer;
  request(pathname: string, init?: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> }): Promise<TestResponse>;
  buildOrg(name?: string): Promise<{ id: string; name: string }>;
  buildUnit(orgId: string, name?: string, parentId?: string | null): Promise<{ id: string }>;
  buildAgent(orgId: string, unitId: string): Promise<{ agentId: string; credential: string }>;
  /**
   * A user with an API token: a member of `orgId` (null: MSP staff), optionally granted `role` on
   * `unitId` (null: the whole org), or a platform admin.
   */
  buildUser(options: BuildUserOptions): Promise<{ userId: string; token: string }>;
  /** Grants `role` on `unitId` (null: org root) in `orgId`. */
  buildGrant(orgId: string, userId: string, role: GrantRole, unitId: string | null): Promise<{ grantId: string }>;
  /** A step-up proof for `action` (X-Step-Up header), enrolling the token's user in TOTP on first use (server/mfa/testing.ts). */
  stepUp(token: string, action: StepUpAction): Promise<string>;
  close(): Promise<void>;
}

export interface BuildUserOptions {
  orgId: string | null;
  role?: GrantRole;
  unitId?: string | null;
  platformAdmin?: boolean;
  name?: string;
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): unknown;
}

let counter = 0;

async function buildGrant(database: TestDatabase, orgId: string, userId: string, role: GrantRole, unitId: string | null): Promise<{ grantId: string }> {
  const grant = await withOrg(database.db, orgId, (tx) => createGrant(tx, { orgId, userId, role, unitId, createdBy: null }));
  return { grantId: grant.id };
}

export async function getTestServer(kind: DatabaseKind = 'pglite', overrides: Partial<ServerConfigInput> = {}, clock?: Clock): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-test-server-'));
  const database = await createTestDatabase(kind);
  const config = loadServerConfig({}, { RMM_PORT: '0', RMM_DATA_DIR: dataDir, RMM_LOG_LEVEL: 'silent', RMM_HEARTBEAT_INTERVAL_MS: '1000' });
  const server = await startServer({ ...config, ...overrides } as typeof config, {
    database,
    logger: pino({ level: process.env.RMM_TEST_LOG_LEVEL ?? 'silent' }),
    // Every test request comes from 127.0.0.1: a per-IP limit would couple unrelated tests
    // (server/mfa/limits.test.ts covers it). Per-account limits and the lockout stay as shipped.
    mfaLimits: { ...DEFAULT_MFA_LIMITS, perIp: { points: 1_000_000, durationSeconds: DEFAULT_MFA_LIMITS.perIp.durationSeconds } },
    ...(clock ? { clock } : {}),
  });
  const token = readFileSync(server.operatorTokenFile, 'utf8').trim();
  const ca = readFileSync(server.certFile, 'utf8');
  const pin = parseFingerprint(server.fingerprint);
  if (!pin) throw new Error(`server fingerprint ${server.fingerprint} does not parse`);

  const request: TestServer['request'] = (pathname, init = {}) =>
    new Promise((resolve, reject) => {
      const body = init.body === undefined ? undefined : JSON.stringify(init.body);
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (init.token !== null) headers.authorization = `Bearer ${init.token ?? token}`;
      if (body !== undefined) headers['content-type'] ??= 'application/json';
      const req = https.request(new URL(pathname, server.url), { method: init.method ?? 'GET', headers, ca, minVersion: 'TLSv1.2' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
        });
      });
      req.on('error', reject);
      req.end(body);
    });

  const testServer: TestServer = {
    server,
    database,
    token,
    ca,
    dataDir,
    pin,
    request,
    buildOrg: async (name) => createOrg(database.db, name ?? `Org ${++counter}`),
    buildUnit: async (orgId, name, parentId = null) =>
      withOrg(database.db, orgId, (tx) => createUnit(tx, { orgId, parentId, name: name ?? `Unit ${++counter}` })),
    buildAgent: async (orgId, unitId) => withOrg(database.db, orgId, (tx) => provisionAgent(tx, { orgId, unitId }, server.context.keys)),
    buildGrant: (orgId, userId, role, unitId) => buildGrant(database, orgId, userId, role, unitId),
    stepUp: (token, action) => stepUp(testServer, token, action),
    async buildUser(options) {
      const n = ++counter;
      const name = options.name ?? `User ${n}`;
      const user = await withScope(database.db, { orgId: options.orgId }, (tx) =>
        createUser(tx, { orgId: options.orgId, displayName: name, email: `user${n}.${process.pid}@example.test`, platformAdmin: options.platformAdmin ?? false }),
      );
      const { token } = await issueApiToken(database.db, server.context.clock, { userId: user.id, auditOrgId: options.orgId, label: 'test', actor: { type: 'system' } });
      if (options.role) {
        if (!options.orgId) throw new Error('buildUser: a role needs an orgId (staff get grants with buildGrant)');
        await buildGrant(database, options.orgId, user.id, options.role, options.unitId ?? null);
      }
      return { userId: user.id, token };
    },
    async close() {
      await server.close();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return testServer;
}
