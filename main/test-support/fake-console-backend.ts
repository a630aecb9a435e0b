import { randomUUID } from 'node:crypto';
import type { Grant, OrgAccess, User, WorkspaceItem } from '../../protocol/access';
import type { AuditAction, AuditEntry } from '../../protocol/audit-actions';
import type { Unit } from '../../protocol/api';
import type { AuditExportProgress, IpcHandlerMap } from '../../protocol/ipc-contract';
import { ORG_SCOPED, Permission, ROLE_PERMISSIONS, type Role } from '../../protocol/permissions';
import { ConsoleError } from '../console-error';
import { createEventHub, type EventSink, type EventSource } from '../handlers';
import * as fixtures from './console-fixtures';

/*
 * An in-memory stand-in for everything behind the handler map, for renderer tests in Chromium:
 * the fixtures' orgs, units and agents, members and grants, a workspace, a long audit log and
 * exports that report progress on a timer. The signed-in user holds one role at the org root of
 * fixtures.ORG_ID (or is an MSP admin); changes they are not allowed to make are refused with
 * `forbidden`, as the server would.
 */

export const ME_ID = '3a3a3a3a-0000-4000-8000-000000000001';
export const JANE_ID = '3a3a3a3a-0000-4000-8000-000000000002';
export const PAT_ID = '3a3a3a3a-0000-4000-8000-000000000003';
export const JANE_GRANT_ID = '4a4a4a4a-0000-4000-8000-000000000001';
export const MY_SCRIPT_ID = '5a5a5a5a-0000-4000-8000-000000000001';
export const JANES_NOTE_ID = '5a5a5a5a-0000-4000-8000-000000000002';
export const AUDIT_ENTRIES = 260;

const at = '2025-11-20T09:30:00.000Z';

export interface FakeConsoleBackend {
  handlers: IpcHandlerMap;
  events: EventSink & EventSource;
  /** Mutating channels called, in order. */
  changes: string[];
  /** Orgs entered (orgs.enter), in order. */
  entered: string[];
  units: Unit[];
  grants: Grant[];
  audit: AuditEntry[];
}

export interface FakeBackendOptions {
  role: Role;
  /** Delay between export progress events (entries go out 20 at a time). */
  exportStepMs?: number;
}

function user(id: string, displayName: string, email: string, orgId: string | null, platformAdmin = false): User {
  return { id, orgId, displayName, email, platformAdmin, createdAt: at, disabled: false };
}

function hex(n: number): string {
  return n.toString(16).padStart(64, '0');
}

function auditEntry(seq: number, action: AuditAction, actorName: string, target: { type: string; id: string } | null, details: Record<string, unknown> = {}): AuditEntry {
  return {
    id: randomUUID(),
    orgId: fixtures.ORG_ID,
    seq,
    time: new Date(Date.parse(at) + seq * 60_000).toISOString(),
    actorType: 'user',
    actorId: ME_ID,
    actorName,
    action,
    targetType: target?.type ?? null,
    targetId: target?.id ?? null,
    outcome: seq % 17 === 0 ? 'denied' : 'success',
    sourceIp: '127.0.0.1',
    userAgent: 'rmm-console/0.1.0',
    details,
    prevHash: hex(seq - 1),
    hash: hex(seq),
  };
}

export function accessFor(role: Role, orgId: string, units: Unit[]): OrgAccess {
  if (role === 'admin') {
    const all = [...Permission.options].sort();
    return { orgId, platformAdmin: true, org: all, units: Object.fromEntries(units.map((u) => [u.id, all])) };
  }
  const held = [...ROLE_PERMISSIONS[role]].sort();
  const unitScoped = held.filter((p) => !ORG_SCOPED.has(p));
  return { orgId, platformAdmin: false, org: held, units: Object.fromEntries(units.map((u) => [u.id, unitScoped])) };
}

export function createFakeConsoleBackend(options: FakeBackendOptions): FakeConsoleBackend {
  const events = createEventHub();
  const changes: string[] = [];
  const entered: string[] = [];
  const me = user(ME_ID, options.role === 'admin' ? 'Morgan Admin' : `Riley ${options.role}`, 'me@msp.example', options.role === 'admin' ? null : fixtures.ORG_ID, options.role === 'admin');
  const users: User[] = [me, user(JANE_ID, 'Jane Tech', 'jane@lakeside.example', fixtures.ORG_ID), user(PAT_ID, 'Pat Newhire', 'pat@lakeside.example', fixtures.ORG_ID)];
  const units: Unit[] = fixtures.units.map((u) => ({ ...u }));
  const grants: Grant[] = [{ id: JANE_GRANT_ID, orgId: fixtures.ORG_ID, userId: JANE_ID, role: 'tech', unitId: fixtures.CLINIC_UNIT_ID, createdAt: at }];
  if (options.role !== 'admin') grants.push({ id: randomUUID(), orgId: fixtures.ORG_ID, userId: ME_ID, role: options.role, unitId: null, createdAt: at });
  const items: WorkspaceItem[] = [
    { id: MY_SCRIPT_ID, ownerId: ME_ID, ownerName: me.displayName, kind: 'script', title: 'Restart print spooler', language: 'powershell', body: 'Restart-Service -Name Spooler', createdAt: at, updatedAt: at, shares: [{ orgId: fixtures.ORG_ID, unitId: fixtures.CLINIC_UNIT_ID, createdAt: at }] },
  ];
  const sharedByOthers = [
    { id: JANES_NOTE_ID, ownerId: JANE_ID, ownerName: 'Jane Tech', kind: 'note' as const, title: 'Front desk printer quirks', language: null, body: 'Power-cycle the label printer before the spooler.', createdAt: at, updatedAt: at, unitId: fixtures.FRONT_DESK_UNIT_ID },
  ];
  const actions: AuditAction[] = ['org.entered', 'unit.activated', 'grant.created', 'user.created', 'access.denied'];
  const audit: AuditEntry[] = Array.from({ length: AUDIT_ENTRIES }, (_, i) => auditEntry(i + 1, actions[i % actions.length] ?? 'org.entered', i % 3 === 0 ? 'Jane Tech' : 'Morgan Admin', { type: 'unit', id: fixtures.CLINIC_UNIT_ID }));
  const exports = new Map<string, { cancelled: boolean }>();
  const stepMs = options.exportStepMs ?? 150;

  const access = (orgId: string): OrgAccess => accessFor(options.role, orgId, units.filter((u) => u.orgId === orgId));
  /** Refuses a change the user's role does not allow at this unit (null: org level), like the server. */
  const require = (channel: string, permission: Permission, unitId: string | null): void => {
    const held = access(fixtures.ORG_ID);
    const ok = unitId === null ? held.org.includes(permission) : (held.units[unitId] ?? []).includes(permission);
    if (!ok) throw new ConsoleError('forbidden', `You need the ${permission} permission`);
    changes.push(channel);
  };
  const record = (action: AuditAction, target: { type: string; id: string }, details: Record<string, unknown> = {}): void => {
    audit.push(auditEntry(audit.length + 1, action, me.displayName, target, details));
  };
  const findUnit = (unitId: string): Unit => {
    const unit = units.find((u) => u.id === unitId);
    if (!unit) throw new ConsoleError('not_found', 'No such unit');
    return unit;
  };
  const ownItem = (itemId: string): WorkspaceItem => {
    const item = items.find((i) => i.id === itemId);
    if (!item) throw new ConsoleError('not_found', 'No such item');
    return item;
  };
  const setReadOnly = (unitId: string, readOnly: boolean, channel: string): Unit => {
    require(channel, 'units.activate', unitId);
    const unit = findUnit(unitId);
    unit.readOnly = readOnly;
    record(readOnly ? 'unit.deactivated' : 'unit.activated', { type: 'unit', id: unitId });
    return { ...unit };
  };

  const runExport = (exportId: string, orgId: string, format: 'jsonl' | 'csv', file: string): void => {
    const total = audit.length;
    let written = 0;
    const send = (state: AuditExportProgress['state']): void => events.emit('audit.exportProgress', { exportId, orgId, format, state, written, total, file, error: null });
    const step = (): void => {
      if (exports.get(exportId)?.cancelled) return send('cancelled');
      written = Math.min(total, written + 20);
      if (written >= total) return send('done');
      send('running');
      setTimeout(step, stepMs);
    };
    send('running');
    setTimeout(step, stepMs);
  };

  const handlers: IpcHandlerMap = {
    'app.info': async () => ({ name: 'RMM Console', version: '0.1.0', serverOrigin: 'https://rmm.lakeside.test:8443', host: 'browser-host' }),
    'orgs.list': async () => ({ orgs: fixtures.orgs }),
    'units.list': async ({ orgId }) => ({ units: units.filter((unit) => unit.orgId === orgId) }),
    'agents.list': async ({ orgId }) => ({ agents: fixtures.agents.filter((agent) => agent.orgId === orgId) }),
    'agents.get': async ({ agentId }) => {
      const summary = fixtures.agents.find((agent) => agent.id === agentId) ?? fixtures.agentA;
      return agentId === fixtures.AGENT_A_ID ? fixtures.agentADetail : { ...summary, inventory: null, inventoryAt: null };
    },
    'console.subscribe': async ({ orgId }) => ({ orgId }),
    'connection.get': async () => ({ state: 'online', detail: 'connected to rmm.lakeside.test:8443' }),

    'me.get': async () => ({ user: me }),
    'orgs.enter': async ({ orgId }) => {
      entered.push(orgId);
      return access(orgId);
    },
    'orgs.access': async ({ orgId }) => access(orgId),
    'settings.get': async () => ({ auditRetentionDays: 2192 }),
    'settings.update': async (settings) => {
      require('settings.update', 'org.settings', null);
      return { auditRetentionDays: settings.auditRetentionDays };
    },
    'units.create': async ({ orgId, name, parentId }) => {
      require('units.create', 'units.manage', parentId);
      const unit: Unit = { id: randomUUID(), orgId, parentId, name, readOnly: true, createdAt: new Date().toISOString() };
      units.push(unit);
      record('unit.created', { type: 'unit', id: unit.id }, { name, parentId });
      return { ...unit };
    },
    'units.rename': async ({ unitId, name }) => {
      require('units.rename', 'units.manage', unitId);
      const unit = findUnit(unitId);
      record('unit.renamed', { type: 'unit', id: unitId }, { from: unit.name, to: name });
      unit.name = name;
      return { ...unit };
    },
    'units.activate': async ({ unitId }) => setReadOnly(unitId, false, 'units.activate'),
    'units.deactivate': async ({ unitId }) => setReadOnly(unitId, true, 'units.deactivate'),

    'users.list': async () => ({ users }),
    'users.create': async ({ orgId, displayName, email }) => {
      require('users.create', 'grants.manage', null);
      const created = user(randomUUID(), displayName, email, orgId);
      users.push(created);
      record('user.created', { type: 'user', id: created.id }, { displayName, email });
      return created;
    },
    'grants.list': async () => ({ grants }),
    'grants.create': async ({ orgId, userId, role, unitId }) => {
      require('grants.create', 'grants.manage', unitId);
      const grant: Grant = { id: randomUUID(), orgId, userId, role, unitId, createdAt: new Date().toISOString() };
      grants.push(grant);
      record('grant.created', { type: 'grant', id: grant.id }, { userId, role, unitId });
      return grant;
    },
    'grants.revoke': async ({ grantId }) => {
      const index = grants.findIndex((g) => g.id === grantId);
      const grant = grants[index];
      if (!grant) throw new ConsoleError('not_found', 'No such grant');
      require('grants.revoke', 'grants.manage', grant.unitId);
      grants.splice(index, 1);
      record('grant.revoked', { type: 'grant', id: grantId }, { userId: grant.userId, role: grant.role, unitId: grant.unitId });
      return grant;
    },

    'workspace.list': async () => ({ items: items.map((i) => ({ ...i, shares: [...i.shares] })) }),
    'workspace.create': async (request) => {
      changes.push('workspace.create');
      const now = new Date().toISOString();
      const item: WorkspaceItem = { id: randomUUID(), ownerId: ME_ID, ownerName: me.displayName, kind: request.kind, title: request.title, language: request.kind === 'script' ? request.language : null, body: request.body, createdAt: now, updatedAt: now, shares: [] };
      items.push(item);
      return { ...item };
    },
    'workspace.update': async ({ itemId, title, body }) => {
      changes.push('workspace.update');
      const item = ownItem(itemId);
      if (title !== undefined) item.title = title;
      if (body !== undefined) item.body = body;
      item.updatedAt = new Date().toISOString();
      return { ...item, shares: [...item.shares] };
    },
    'workspace.delete': async ({ itemId }) => {
      changes.push('workspace.delete');
      const item = ownItem(itemId);
      items.splice(items.indexOf(item), 1);
      return item;
    },
    'workspace.share': async ({ orgId, unitId, itemId }) => {
      require('workspace.share', 'workspace.share', unitId);
      const item = ownItem(itemId);
      item.shares.push({ orgId, unitId, createdAt: new Date().toISOString() });
      record('workspace.item_shared', { type: 'workspace_item', id: itemId }, { unitId, kind: item.kind });
      return { ...item, shares: [...item.shares] };
    },
    'workspace.unshare': async ({ unitId, itemId }) => {
      require('workspace.unshare', 'workspace.share', unitId);
      const item = ownItem(itemId);
      item.shares = item.shares.filter((s) => s.unitId !== unitId);
      record('workspace.item_unshared', { type: 'workspace_item', id: itemId }, { unitId, kind: item.kind });
      return { ...item, shares: [...item.shares] };
    },
    'workspace.shared': async ({ orgId }) => ({ items: orgId === fixtures.ORG_ID ? sharedByOthers : [] }),

    'audit.list': async ({ orgId, before, limit, action, actor, outcome, targetId, targetType, from, to }) => {
      const matching = audit
        .filter((e) => e.orgId === orgId)
        .filter((e) => (before === undefined || e.seq < before) && (!action || e.action === action) && (!outcome || e.outcome === outcome))
        .filter((e) => (!actor || e.actorName === actor || e.actorId === actor) && (!targetId || e.targetId === targetId) && (!targetType || e.targetType === targetType))
        .filter((e) => (!from || e.time >= from) && (!to || e.time < to))
        .sort((a, b) => b.seq - a.seq);
      const entries = matching.slice(0, limit);
      const last = entries.at(-1);
      return { entries, nextBefore: matching.length > limit && last ? last.seq : null };
    },
    'audit.export': async ({ orgId, format }) => {
      require('audit.export', 'audit.export', null);
      const exportId = randomUUID();
      const file = `/home/tech/exports/audit-${exportId.slice(0, 8)}.${format}`;
      exports.set(exportId, { cancelled: false });
      setTimeout(() => runExport(exportId, orgId, format, file), 0);
      return { exportId, file };
    },
    'audit.cancelExport': async ({ exportId }) => {
      const entry = exports.get(exportId);
      if (entry) entry.cancelled = true;
      return { exportId, cancelled: entry !== undefined };
    },
  };

  return { handlers, events, changes, entered, units, grants, audit };
}
