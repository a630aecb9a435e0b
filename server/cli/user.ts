import path from 'node:path';
import { z } from 'zod';
import { GrantRole } from '../../protocol/permissions';
import { appendAudit } from '../audit/log';
import { issueApiToken } from '../auth/api-token';
import { systemClock } from '../clock';
import { ConfigError, loadServerConfig } from '../config';
import { openDatabase, withOrg, withScope, type Db } from '../db/database';
import { AppError } from '../errors';
import { createGrant } from '../grants/store';
import { listOrgs } from '../orgs/store';
import { linkUserIdentity } from '../identity/link';
import { orgIdentity } from '../identity/store';
import { createUser, listUsers } from '../users/store';
import { parseCommandArgs, UsageError } from './args';

export const userHelp = `Usage: rmm user <add|link|token|list> [options]

Manages users and their API tokens directly in the database, for bootstrapping and for
deployments before Azure AD sign-in is configured. PGlite data folders are used by one process at
a time: stop the server first (PostgreSQL has no such limit).

  rmm user add --org <org id or name> --name <display name> --email <email> [--role <role> [--unit <unit id>]]
      adds a member of a client org, optionally granting a role (tenant_admin, tech, viewer,
      provisioning) on a unit and everything below it, or on the whole org without --unit
  rmm user add --staff [--admin] --name <display name> --email <email> [--azure-oid <oid>]
      adds one of the MSP's own staff; --admin gives the MSP-wide admin role. With --azure-oid
      (also for --org members) the user is linked to that Azure AD object id in the staff tenant
      (RMM_AUTH_STAFF_TENANT) or in the org's registered tenant, so they can sign in with it
  rmm user link --email <email> --tid <tenant id> --oid <object id>
      links an existing user to their Azure AD identity: staff only in the staff tenant, members
      only in their org's registered tenant (audited as user.identity_linked)
  rmm user token --email <email> [--label <text>] [--expires-days <n>]
      issues an API token for the user and prints it once (only its hash is stored)
  rmm user list [--org <org id or name>]

Options:
  --data-dir <dir>       data folder holding the PGlite database (RMM_DATA_DIR, default ./.rmm-data)
  --database-url <url>   PostgreSQL instead of PGlite (DATABASE_URL)
  -h, --help             show this help
`;

const cliActor = { type: 'system', name: 'rmm user (command line)' } as const;

const AddArgs = z.object({
  org: z.string().min(1).optional(),
  staff: z.boolean().optional(),
  admin: z.boolean().optional(),
  name: z.string({ error: 'is required' }).trim().min(1, 'is required').max(200),
  email: z.email('must be an email address').max(320),
  role: GrantRole.optional(),
  unit: z.uuid('must be a unit id').optional(),
  'azure-oid': z.uuid('must be an Azure AD object id (a GUID)').optional(),
});

const LinkArgs = z.object({
  email: z.email('must be an email address'),
  tid: z.uuid('must be an Azure AD tenant id (a GUID)'),
  oid: z.uuid('must be an Azure AD object id (a GUID)'),
});

const TokenArgs = z.object({
  email: z.email('must be an email address'),
  label: z.string().trim().min(1).max(200).default('command line'),
  'expires-days': z.coerce.number().int().min(1).max(3650).optional(),
});

function parseWith<T>(schema: z.ZodType<T>, values: unknown): T {
  const result = schema.safeParse(values);
  if (!result.success) throw new UsageError(result.error.issues.map((i) => (i.path.length ? `--${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  return result.data;
}

async function resolveOrg(db: Db, ref: string): Promise<string> {
  const orgs = await listOrgs(db);
  const matches = orgs.filter((o) => o.id === ref || o.name.toLowerCase() === ref.toLowerCase());
  if (matches.length === 0) throw new UsageError(`--org: no organisation '${ref}'`);
  if (matches.length > 1) throw new UsageError(`--org: '${ref}' names ${matches.length} organisations; give its id`);
  const [match] = matches;
  if (!match) throw new UsageError(`--org: no organisation '${ref}'`);
  return match.id;
}

type AddArgs = z.infer<typeof AddArgs>;

function parseAddArgs(raw: Record<string, unknown>): AddArgs {
  const args = parseWith(AddArgs, raw);
  if (Boolean(args.staff) === Boolean(args.org)) throw new UsageError('give exactly one of --org (a client org member) or --staff (the MSP\'s own staff)');
  if (args.admin && !args.staff) throw new UsageError('--admin is for --staff users only');
  if (args.unit && !args.role) throw new UsageError('--unit needs --role');
  if (args.staff && args.role) throw new UsageError('staff get roles per org: add the grant from the console');
  return args;
}

async function addUser(db: Db, args: AddArgs, staffTenant: string | undefined): Promise<void> {
  const orgId = args.org ? await resolveOrg(db, args.org) : null;
  const clock = systemClock;
  let tenantId: string | undefined;
  if (args['azure-oid']) {
    tenantId = orgId ? ((await orgIdentity(db, orgId))?.azureTenantId ?? undefined) : staffTenant;
    if (!tenantId) throw new UsageError(orgId ? '--azure-oid: the organisation has not registered an Azure tenant' : '--azure-oid: no staff tenant is configured (RMM_AUTH_STAFF_TENANT)');
  }
  const user = await withScope(db, { orgId }, async (tx) => {
    const created = await createUser(tx, { orgId, displayName: args.name, email: args.email, platformAdmin: args.admin ?? false });
    await appendAudit(tx, { orgId, actor: cliActor, action: 'user.created', target: { type: 'user', id: created.id }, details: { displayName: created.displayName, email: created.email }, time: clock.now() });
    return created;
  });
  process.stdout.write(`added ${user.displayName} <${user.email}> ${user.id}${user.platformAdmin ? ' (MSP admin)' : ''}\n`);
  if (tenantId && args['azure-oid']) {
    await linkUserIdentity(db, clock, { userId: user.id, tenantId, objectId: args['azure-oid'], staffTenant, actor: cliActor });
    process.stdout.write(`linked to Azure AD ${tenantId} / ${args['azure-oid']}\n`);
  }
  if (orgId && args.role) {
    const role = args.role;
    const unitId = args.unit ?? null;
    const grant = await withOrg(db, orgId, async (tx) => {
      const created = await createGrant(tx, { orgId, userId: user.id, role, unitId, createdBy: null });
      await appendAudit(tx, { orgId, actor: cliActor, action: 'grant.created', target: { type: 'grant', id: created.id }, details: { userId: user.id, role, unitId }, time: clock.now() });
      return created;
    });
    process.stdout.write(`granted ${grant.role} on ${grant.unitId ?? 'the whole org'}\n`);
  }
}

/** The user with this email, staff or a member of any org: looked up in each scope. */
async function userByEmail(db: Db, email: string): Promise<{ id: string; orgId: string | null }> {
  for (const orgId of [null, ...(await listOrgs(db)).map((o) => o.id)]) {
    const users = await withScope(db, { orgId }, listUsers);
    const user = users.find((u) => u.email.toLowerCase() === email.toLowerCase() && u.orgId === orgId);
    if (user) return { id: user.id, orgId: user.orgId };
  }
  throw new UsageError(`--email: no user ${email}`);
}

async function linkUser(db: Db, args: z.infer<typeof LinkArgs>, staffTenant: string | undefined): Promise<void> {
  const user = await userByEmail(db, args.email);
  const { staff } = await linkUserIdentity(db, systemClock, { userId: user.id, tenantId: args.tid, objectId: args.oid, staffTenant, actor: cliActor });
  process.stdout.write(`linked ${args.email} (${staff ? 'staff' : 'member'}) to Azure AD ${args.tid.toLowerCase()} / ${args.oid.toLowerCase()}\n`);
}

async function issueToken(db: Db, args: z.infer<typeof TokenArgs>): Promise<void> {
  const found = await userByEmail(db, args.email);
  const expiresAt = args['expires-days'] ? new Date(Date.now() + args['expires-days'] * 86_400_000) : null;
  const { token } = await issueApiToken(db, systemClock, { userId: found.id, auditOrgId: found.orgId, label: args.label, expiresAt, actor: cliActor });
  process.stdout.write(`${token}\n`);
  process.stderr.write(`API token for ${args.email}${expiresAt ? `, expires ${expiresAt.toISOString()}` : ''}. It is shown once; only its hash is stored.\n`);
}

async function list(db: Db, raw: Record<string, unknown>): Promise<void> {
  const orgRef = typeof raw.org === 'string' ? raw.org : undefined;
  const orgId = orgRef ? await resolveOrg(db, orgRef) : null;
  const users = await withScope(db, { orgId }, listUsers);
  for (const u of users) process.stdout.write(`${u.id}  ${u.orgId ? 'member' : u.platformAdmin ? 'admin ' : 'staff '}  ${u.displayName} <${u.email}>${u.disabled ? ' (disabled)' : ''}\n`);
}

export async function userCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(userHelp);
    return sub === undefined ? 2 : 0;
  }
  if (!['add', 'link', 'token', 'list'].includes(sub)) throw new UsageError(`unknown subcommand '${sub}' (add, link, token, list)`);
  const { values } = parseCommandArgs(rest, {
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    org: { type: 'string' },
    staff: { type: 'boolean' },
    admin: { type: 'boolean' },
    name: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    unit: { type: 'string' },
    label: { type: 'string' },
    'expires-days': { type: 'string' },
    'azure-oid': { type: 'string' },
    tid: { type: 'string' },
    oid: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(userHelp);
    return 0;
  }
  let config;
  try {
    config = loadServerConfig({ dataDir: values['data-dir'], databaseUrl: values['database-url'] });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  // Input is checked before the database is opened: a typo costs nothing.
  const { 'data-dir': _d, 'database-url': _u, help: _h, ...options } = values;
  const staffTenant = config.authStaffTenant;
  const run =
    sub === 'add'
      ? ((args) => (db: Db) => addUser(db, args, staffTenant))(parseAddArgs(options))
      : sub === 'link'
        ? ((args) => (db: Db) => linkUser(db, args, staffTenant))(parseWith(LinkArgs, options))
      : sub === 'token'
        ? ((args) => (db: Db) => issueToken(db, args))(parseWith(TokenArgs, options))
        : (db: Db) => list(db, options);
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'pglite'), migrate: true });
  try {
    await run(handle.db);
    return 0;
  } catch (err) {
    if (err instanceof AppError) {
      process.stderr.write(`rmm user ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await handle.close();
  }
}
