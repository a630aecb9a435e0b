import { createHash, randomUUID } from 'node:crypto';
import type { Grant, OrgAccess, User, WorkspaceItem } from '../../protocol/access';
import type { Alert, AlertKind } from '../../protocol/alerts';
import type { AuditAction, AuditEntry } from '../../protocol/audit-actions';
import type { Unit } from '../../protocol/api';
import type { OrgIdentity, Session } from '../../protocol/identity';
import { stepUpActionOf, type AuditExportProgress, type AuthState, type IpcChannel, type IpcHandlerMap, type SessionEnded } from '../../protocol/ipc-contract';
import type { StepUpAction } from '../../protocol/mfa';
import { ORG_SCOPED, Permission, ROLE_PERMISSIONS, type Role } from '../../protocol/permissions';
import type { Script, ScriptContent, ScriptDetail, ScriptParameter, ScriptVersion } from '../../protocol/scripts';
import { ConsoleError } from '../console-error';
import { createEventHub, type EventSink, type EventSource } from '../handlers';
import * as fixtures from './console-fixtures';

/*
 * An in-memory stand-in for everything behind the handler map, for renderer tests in Chromium:
 * the fixtures' orgs, units and agents, members and grants, a workspace, a long audit log and
 * exports that report progress on a timer. The signed-in user holds one role at the org root of
 * fixtures.ORG_ID (or is an MSP admin); changes they are not allowed to make are refused with
 * `forbidden`, as the server would.
 *
 * Issue #4 (all optional, so older tests need no sign-in or second factor): the sign-in state
 * (`auth: 'signed-out'` starts at the sign-in screen; the test finishes or fails the browser
 * step and can lock the console as an admin's revocation would), step-up on the guarded
 * channels until `mfa.stepUp` proves FAKE_TOTP_CODE (or a backup code) for that action, TOTP
 * enrolment, sessions, the org's sign-in settings and alerts (`raiseAlert` pushes one live).
 *
 * Issue #5: the org script library, seeded with Jane's org-wide "Clear print queue" (version 1
 * approved, version 2 pending: the approval queue and its diff) and Pat's "Map shared drive" for
 * the exam rooms (version 1 pending). Deciding one's own version is
 * refused with `own_script` (after step-up, as the server's order is), a decided one `conflict`.
 */

export const ME_ID = '3a3a3a3a-0000-4000-8000-000000000001';
export const JANE_ID = '3a3a3a3a-0000-4000-8000-000000000002';
export const PAT_ID = '3a3a3a3a-0000-4000-8000-000000000003';
export const JANE_GRANT_ID = '4a4a4a4a-0000-4000-8000-000000000001';
export const MY_SCRIPT_ID = '5a5a5a5a-0000-4000-8000-000000000001';
export const JANES_NOTE_ID = '5a5a5a5a-0000-4000-8000-000000000002';
export const AUDIT_ENTRIES = 260;
export const CURRENT_SESSION_ID = '6a6a6a6a-0000-4000-8000-000000000001';
export const MY_LAPTOP_SESSION_ID = '6a6a6a6a-0000-4000-8000-000000000002';
export const JANE_SESSION_ID = '6a6a6a6a-0000-4000-8000-000000000003';
export const STAFF_SESSION_ID = '6a6a6a6a-0000-4000-8000-000000000004';
export const OPEN_ALERT_ID = '7a7a7a7a-0000-4000-8000-000000000001';
/** Jane's org-wide library script: version 1 approved by Pat, version 2 pending. */
export const PRINT_QUEUE_SCRIPT_ID = '8a8a8a8a-0000-4000-8000-000000000001';
/** Pat's script for the exam rooms: version 1 pending. */
export const MAP_DRIVE_SCRIPT_ID = '8a8a8a8a-0000-4000-8000-000000000002';
export const PRINT_QUEUE_V1 = 'Stop-Service -Name Spooler\nRemove-Item C:\\Windows\\System32\\spool\\PRINTERS\\*\nStart-Service -Name Spooler';
export const PRINT_QUEUE_V2 = 'Stop-Service -Name Spooler -Force\nRemove-Item C:\\Windows\\System32\\spool\\PRINTERS\\*\nStart-Service -Name Spooler\nGet-Service -Name Spooler';
/** The one TOTP code the fake accepts (a real server takes the current one of 30 s steps). */
export const FAKE_TOTP_CODE = '246810';
export const FAKE_TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
/** A 1×1 PNG: the fake's "QR code". */
const FAKE_QR = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** Wrong codes before step-up locks (the server's limit is of the same kind). */
const MFA_ATTEMPTS = 5;

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
  /** Every channel called, in order (reads too), e.g. to count `auth.activity`. */
  calls: IpcChannel[];
  /** Step-up actions proved with `mfa.stepUp`, in order. */
  stepUps: StepUpAction[];
  sessions: Session[];
  alerts: Alert[];
  auth: FakeAuth;
  /** The script library, each with its versions newest first. */
  scripts: ScriptDetail[];
  /** A new alert in the open org (or about MSP staff with orgId null), pushed as `alert.raised`. */
  raiseAlert(message: string, options?: { kind?: AlertKind; orgId?: string | null }): Alert;
}

export interface FakeAuth {
  current(): AuthState;
  /** The browser step of a pending `auth.signIn` succeeded: signed in (as the same account). */
  finishSignIn(): void;
  /** The browser step failed with this error (e.g. tenant_not_registered). */
  failSignIn(code: string, message: string): void;
  /** The server ended the session (an admin's revocation, a timeout): the console locks. */
  lock(ended: Omit<SessionEnded, 'at'> & { at?: string }): void;
}

export interface FakeBackendOptions {
  role: Role;
  /** Delay between export progress events (entries go out 20 at a time). */
  exportStepMs?: number;
  /** 'api-token' (default): always signed in, never locks. Otherwise Azure AD sign-in, starting so. */
  auth?: 'api-token' | 'signed-out' | 'signed-in';
  /** The guarded channels need step-up (default false). */
  stepUp?: boolean;
  /** The user has an authenticator app set up (default true). */
  mfaEnrolled?: boolean;
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
  const stepUps: StepUpAction[] = [];
  /** Proofs main would hold: one per action, used up by the next guarded call. */
  const proofs = new Set<StepUpAction>();
  const mfa = { enrolled: options.mfaEnrolled ?? true, enrolledAt: options.mfaEnrolled === false ? null : at, pending: false, backupCodes: backupCodeSet(), failures: 0, lockedUntil: null as string | null };
  /** Refuses a call without a fresh proof for its action, as the server's step-up does. */
  const stepUp = (channel: IpcChannel): void => {
    const action = stepUpActionOf(channel);
    if (!options.stepUp || !action) return;
    if (!mfa.enrolled) throw new ConsoleError('mfa_not_enrolled', 'Set up an authenticator app first');
    if (!proofs.delete(action)) throw new ConsoleError('step_up_required', `This needs a fresh second factor (${action})`);
  };
  /** Refuses a change the user's role does not allow at this unit (null: org level) or without step-up, like the server. */
  const require = (channel: IpcChannel, permission: Permission, unitId: string | null): void => {
    const held = access(fixtures.ORG_ID);
    const ok = unitId === null ? held.org.includes(permission) : (held.units[unitId] ?? []).includes(permission);
    if (!ok) throw new ConsoleError('forbidden', `You need the ${permission} permission`);
    stepUp(channel);
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
  const setReadOnly = (unitId: string, readOnly: boolean, channel: IpcChannel): Unit => {
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

  // Sign-in state, sessions, the org's sign-in settings and alerts (issue #4).
  const account = { tenantId: '8c3f5e1a-0000-4000-8000-00000000c1a1', objectId: ME_ID, username: me.email, name: me.displayName };
  const myOrg = me.orgId;
  const now = (): string => new Date().toISOString();
  const session = (id: string, who: User, userAgent: string, ip: string, orgId: string | null): Session => ({
    id, orgId, userId: who.id, userName: who.displayName, createdAt: at, lastActivityAt: now(), userAgent, ip, endedAt: null, endedBy: null, endReason: null, current: id === CURRENT_SESSION_ID,
  });
  const sam = user('3a3a3a3a-0000-4000-8000-000000000009', 'Sam Staff', 'sam@msp.example', null);
  const sessions: Session[] = [
    session(CURRENT_SESSION_ID, me, 'rmm-console/0.1.0 (browser host; Chromium)', '10.0.0.21', myOrg),
    session(MY_LAPTOP_SESSION_ID, me, 'rmm-console/0.1.0 (Electron; Windows 11)', '10.0.0.57', myOrg),
    session(JANE_SESSION_ID, users[1] ?? me, 'rmm-console/0.1.0 (Electron; macOS 15)', '10.20.0.14', fixtures.ORG_ID),
    session(STAFF_SESSION_ID, sam, 'rmm-console/0.1.0 (Electron; Ubuntu 24.04)', '10.0.0.88', null),
  ];
  const signedIn = (): AuthState => ({
    mode: 'sign-in', state: 'signed-in', account, ended: null, signInUrl: null, error: null,
    session: { sessionId: CURRENT_SESSION_ID, userId: ME_ID, orgId: myOrg, idleMinutes: 15, times: { idleExpiresAt: new Date(Date.now() + 15 * 60_000).toISOString(), absoluteExpiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(), idleRemainingSeconds: 900, absoluteRemainingSeconds: 28_800 } },
  });
  const signedOut: AuthState = { mode: 'sign-in', state: 'signed-out', account: null, session: null, ended: null, signInUrl: null, error: null };
  let authState: AuthState =
    options.auth === undefined || options.auth === 'api-token'
      ? { mode: 'api-token', state: 'signed-in', account: null, session: null, ended: null, signInUrl: null, error: null }
      : options.auth === 'signed-in' ? signedIn() : signedOut;
  let pendingSignIn: { resolve: (state: AuthState) => void } | null = null;
  const setAuth = (next: AuthState): AuthState => {
    authState = next;
    events.emit('auth.state', next);
    return next;
  };
  /** Only a live session's calls go through; a locked console is refused as the server would. */
  const live = (): void => {
    if (authState.state !== 'signed-in') throw new ConsoleError('unauthenticated', 'Sign in first');
  };
  const auth: FakeAuth = {
    current: () => authState,
    finishSignIn() {
      const next = setAuth(signedIn());
      pendingSignIn?.resolve(next);
      pendingSignIn = null;
    },
    failSignIn(code, message) {
      const next = setAuth({ ...authState, state: authState.ended ? 'locked' : 'signed-out', signInUrl: null, error: { code, message } });
      pendingSignIn?.resolve(next);
      pendingSignIn = null;
    },
    lock(ended) {
      const current = sessions.find((s) => s.id === CURRENT_SESSION_ID);
      if (current) Object.assign(current, { endedAt: now(), endReason: ended.reason, endedBy: ended.by?.userId ?? null });
      setAuth({ ...authState, state: 'locked', session: null, signInUrl: null, error: null, ended: { ...ended, at: ended.at ?? now() } });
    },
  };
  let identity: OrgIdentity = { azureTenantId: account.tenantId, defaultRole: 'viewer', sessionIdleMinutes: 15, sessionAbsoluteMinutes: 480 };
  const alerts: Alert[] = [
    { id: OPEN_ALERT_ID, orgId: fixtures.ORG_ID, kind: 'mfa.locked', createdAt: at, subject: { userId: PAT_ID, name: 'Pat Newhire' }, message: 'Pat Newhire entered wrong codes too often: step-up locked for 15 minutes', acknowledgedAt: null, acknowledgedBy: null },
  ];
  const raiseAlert = (message: string, opts: { kind?: AlertKind; orgId?: string | null } = {}): Alert => {
    const alert: Alert = { id: randomUUID(), orgId: opts.orgId === undefined ? fixtures.ORG_ID : opts.orgId, kind: opts.kind ?? 'mfa.backup_code_used', createdAt: now(), subject: { userId: JANE_ID, name: 'Jane Tech' }, message, acknowledgedAt: null, acknowledgedBy: null };
    alerts.push(alert);
    events.emit('alert.raised', alert);
    return alert;
  };
  const mayReadAlerts = access(fixtures.ORG_ID).org.includes('alerts.read');
  const findAlert = (alertId: string, orgId: string | null): Alert => {
    const alert = alerts.find((a) => a.id === alertId && a.orgId === orgId);
    if (!alert) throw new ConsoleError('not_found', 'No such alert');
    return alert;
  };
  const acknowledge = (alert: Alert, channel: IpcChannel): Alert => {
    if (!mayReadAlerts) throw new ConsoleError('forbidden', 'You need the alerts.read permission');
    changes.push(channel);
    if (alert.acknowledgedAt === null) Object.assign(alert, { acknowledgedAt: now(), acknowledgedBy: { userId: ME_ID, name: me.displayName } });
    return { ...alert };
  };
  const revokeSession = (sessionId: string, reason: string, orgId: string | null, channel: IpcChannel): { id: string; endedAt: string } => {
    const target = sessions.find((s) => s.id === sessionId && s.orgId === orgId);
    if (!target) throw new ConsoleError('not_found', 'No such session');
    if (target.userId !== ME_ID) stepUp(channel);
    if (target.endedAt) throw new ConsoleError('conflict', 'That session has already ended');
    changes.push(channel);
    Object.assign(target, { endedAt: now(), endedBy: ME_ID, endReason: reason });
    if (target.id === CURRENT_SESSION_ID && authState.mode === 'sign-in') {
      setTimeout(() => auth.lock({ kind: 'revoked', reason, by: { userId: ME_ID, name: me.displayName } }), 0);
    }
    return { id: target.id, endedAt: target.endedAt ?? now() };
  };
  const openSessions = (filter: (s: Session) => boolean): { sessions: Session[] } => ({ sessions: sessions.filter((s) => s.endedAt === null && filter(s)).map((s) => ({ ...s })) });
  const newBackupCodes = (): string[] => {
    mfa.backupCodes = backupCodeSet();
    return [...mfa.backupCodes].map(printedBackupCode);
  };

  // The script library (issue #5).
  const canAnywhere = (permission: Permission): boolean => {
    const held = access(fixtures.ORG_ID);
    return held.org.includes(permission) || Object.values(held.units).some((p) => p.includes(permission));
  };
  const scripts: ScriptDetail[] = [];
  /** A stand-in for the server's hash of the canonical content: unique per content, which is all the console relies on. */
  const contentHash = (content: ScriptContent): string => createHash('sha256').update(JSON.stringify([content.language, content.body, content.parameters, content.timeoutSeconds])).digest('hex');
  const scriptVersion = (scriptId: string, version: number, content: ScriptContent, author: User, createdAt = now()): ScriptVersion => {
    const sha256 = contentHash(content);
    if (scripts.some((d) => d.versions.some((v) => v.sha256 === sha256))) throw new ConsoleError('conflict', 'A script version with exactly this content (same SHA-256) already exists in this organisation');
    return {
      scriptId, version, body: content.body, parameters: content.parameters.map((p: ScriptParameter) => ({ ...p })), timeoutSeconds: content.timeoutSeconds, sha256,
      authorId: author.id, authorName: author.displayName, createdAt, status: 'pending', decidedBy: null, decidedByName: null, decidedAt: null, reason: null,
    };
  };
  const recount = (detail: ScriptDetail): void => {
    const script: Script = detail.script;
    script.latestVersion = Math.max(...detail.versions.map((v) => v.version));
    script.pendingVersions = detail.versions.filter((v) => v.status === 'pending').length;
    script.latestApprovedVersion = detail.versions.filter((v) => v.status === 'approved').reduce<number | null>((max, v) => (max === null || v.version > max ? v.version : max), null);
  };
  const findScript = (orgId: string, scriptId: string): ScriptDetail => {
    const found = scripts.find((d) => d.script.id === scriptId && d.script.orgId === orgId);
    if (!found || !canAnywhere('scripts.read')) throw new ConsoleError('not_found', 'No such script');
    return found;
  };
  /** Approve or reject: permission, then step-up, then never the author, then only a pending version (the server's order). */
  const decideScript = (channel: 'scripts.approve' | 'scripts.reject', request: { orgId: string; scriptId: string; version: number; reason: string }, status: 'approved' | 'rejected'): ScriptVersion => {
    const found = findScript(request.orgId, request.scriptId);
    const held = access(fixtures.ORG_ID);
    const unitId = found.script.unitId;
    if (!(unitId === null ? held.org : held.units[unitId] ?? []).includes('scripts.approve')) throw new ConsoleError('forbidden', 'You need the scripts.approve permission');
    stepUp(channel);
    const version = found.versions.find((v) => v.version === request.version);
    if (!version) throw new ConsoleError('not_found', 'No such version of this script');
    if (version.authorId === ME_ID) throw new ConsoleError('own_script', 'You wrote this version: someone else with scripts.approve must approve or reject it');
    if (version.status !== 'pending') throw new ConsoleError('conflict', `Version ${version.version} was already ${version.status}; only a pending version can be decided`);
    changes.push(channel);
    Object.assign(version, { status, decidedBy: ME_ID, decidedByName: me.displayName, decidedAt: now(), reason: request.reason });
    recount(found);
    record(status === 'approved' ? 'script.approved' : 'script.rejected', { type: 'script', id: found.script.id }, { version: version.version, sha256: version.sha256, reason: request.reason });
    return { ...version };
  };
  {
    const jane = users[1] ?? me;
    const pat = users[2] ?? me;
    const content = { language: 'powershell' as const, parameters: [], timeoutSeconds: 120 };
    const v1 = { ...scriptVersion(PRINT_QUEUE_SCRIPT_ID, 1, { ...content, body: PRINT_QUEUE_V1 }, jane, at), status: 'approved' as const, decidedBy: pat.id, decidedByName: pat.displayName, decidedAt: at, reason: 'Reviewed with the front desk' };
    const v2 = scriptVersion(PRINT_QUEUE_SCRIPT_ID, 2, { ...content, body: PRINT_QUEUE_V2 }, jane, at);
    const detail: ScriptDetail = { script: { id: PRINT_QUEUE_SCRIPT_ID, orgId: fixtures.ORG_ID, unitId: null, name: 'Clear print queue', language: 'powershell', latestVersion: 2, latestApprovedVersion: 1, pendingVersions: 1, createdAt: at }, versions: [v2, v1] };
    scripts.push(detail);
    const drive = scriptVersion(MAP_DRIVE_SCRIPT_ID, 1, { ...content, body: 'New-PSDrive -Name S -PSProvider FileSystem -Root \\\\files\\shared -Persist' }, pat, at);
    scripts.push({ script: { id: MAP_DRIVE_SCRIPT_ID, orgId: fixtures.ORG_ID, unitId: fixtures.CLINIC_UNIT_ID, name: 'Map shared drive', language: 'powershell', latestVersion: 1, latestApprovedVersion: null, pendingVersions: 1, createdAt: at }, versions: [drive] });
  }

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

    'auth.state': async () => authState,
    'auth.signIn': async () => {
      if (authState.mode === 'api-token') return authState;
      if (pendingSignIn) throw new ConsoleError('conflict', 'A sign-in is already under way');
      const done = new Promise<AuthState>((resolve) => {
        pendingSignIn = { resolve };
      });
      setAuth({ ...authState, state: 'signing-in', signInUrl: `https://127.0.0.1:9/${account.tenantId}/oauth2/v2.0/authorize?client_id=fake&state=${randomUUID()}`, error: null });
      return done;
    },
    'auth.signOut': async () => (authState.mode === 'api-token' ? authState : setAuth(signedOut)),
    'auth.activity': async () => ({ idleExpiresAt: authState.mode === 'api-token' ? null : new Date(Date.now() + 15 * 60_000).toISOString() }),

    'sessions.mine': async () => {
      live();
      return openSessions((s) => s.userId === ME_ID);
    },
    'sessions.list': async ({ orgId }) => {
      if (!access(orgId).org.includes('sessions.read')) throw new ConsoleError('forbidden', 'You need the sessions.read permission');
      return openSessions((s) => s.orgId === orgId);
    },
    'sessions.revoke': async ({ orgId, sessionId, reason }) => {
      if (!access(orgId).org.includes('sessions.revoke')) throw new ConsoleError('forbidden', 'You need the sessions.revoke permission');
      return revokeSession(sessionId, reason, orgId, 'sessions.revoke');
    },
    'sessions.staffList': async () => {
      if (options.role !== 'admin') throw new ConsoleError('forbidden', 'MSP admins only');
      return openSessions((s) => s.orgId === null);
    },
    'sessions.staffRevoke': async ({ sessionId, reason }) => {
      if (options.role !== 'admin') throw new ConsoleError('forbidden', 'MSP admins only');
      return revokeSession(sessionId, reason, null, 'sessions.staffRevoke');
    },

    'mfa.status': async () => ({ enrolled: mfa.enrolled, enrolledAt: mfa.enrolledAt, pending: mfa.pending, backupCodesRemaining: mfa.enrolled ? mfa.backupCodes.size : 0, lockedUntil: mfa.lockedUntil }),
    'mfa.enrol': async () => {
      if (mfa.enrolled) stepUp('mfa.enrol');
      mfa.pending = true;
      return { secret: FAKE_TOTP_SECRET, otpauthUri: `otpauth://totp/RMM:${encodeURIComponent(me.email)}?secret=${FAKE_TOTP_SECRET}&issuer=RMM`, qrCodeDataUrl: FAKE_QR };
    },
    'mfa.confirm': async ({ code }) => {
      if (!mfa.pending) throw new ConsoleError('conflict', 'Start enrolment first');
      if (code !== FAKE_TOTP_CODE) throw new ConsoleError('mfa_code_invalid', 'That code is not valid');
      Object.assign(mfa, { enrolled: true, enrolledAt: now(), pending: false });
      return { backupCodes: newBackupCodes() };
    },
    'mfa.stepUp': async ({ action, code, backupCode }) => {
      if (!mfa.enrolled) throw new ConsoleError('mfa_not_enrolled', 'Set up an authenticator app first');
      if (mfa.lockedUntil !== null && mfa.lockedUntil > now()) throw new ConsoleError('mfa_locked', `Locked until ${mfa.lockedUntil}`);
      const backup = backupCode?.replace(/[\s-]/g, '').toUpperCase();
      const ok = code !== undefined ? code === FAKE_TOTP_CODE : backup !== undefined && mfa.backupCodes.delete(backup);
      if (!ok) {
        mfa.failures += 1;
        if (mfa.failures >= MFA_ATTEMPTS) {
          mfa.lockedUntil = new Date(Date.now() + 15 * 60_000).toISOString();
          throw new ConsoleError('mfa_locked', `Locked until ${mfa.lockedUntil}`);
        }
        throw new ConsoleError('mfa_code_invalid', 'That code is not valid');
      }
      mfa.failures = 0;
      if (backup !== undefined) raiseAlert(`${me.displayName} used a backup code (${mfa.backupCodes.size} left)`, { orgId: myOrg });
      proofs.add(action);
      stepUps.push(action);
      return { action, expiresAt: new Date(Date.now() + 5 * 60_000).toISOString() };
    },
    'mfa.regenerateBackupCodes': async () => {
      if (!mfa.enrolled) throw new ConsoleError('mfa_not_enrolled', 'Set up an authenticator app first');
      stepUp('mfa.regenerateBackupCodes');
      return { backupCodes: newBackupCodes() };
    },
    'mfa.reset': async ({ userId }) => {
      if (userId === ME_ID) throw new ConsoleError('conflict', 'Reset your own MFA by enrolling again');
      require('mfa.reset', 'grants.manage', null);
      return { userId, hadMfa: true };
    },

    'identity.get': async () => identity,
    'identity.update': async (next) => {
      require('identity.update', 'org.settings', null);
      identity = { azureTenantId: next.azureTenantId, defaultRole: next.defaultRole, sessionIdleMinutes: next.sessionIdleMinutes, sessionAbsoluteMinutes: next.sessionAbsoluteMinutes };
      return identity;
    },

    'alerts.list': async ({ orgId, open }) => {
      if (!mayReadAlerts) throw new ConsoleError('forbidden', 'You need the alerts.read permission');
      return { alerts: alerts.filter((a) => a.orgId === orgId && (!open || a.acknowledgedAt === null)).reverse() };
    },
    'alerts.acknowledge': async ({ orgId, alertId }) => acknowledge(findAlert(alertId, orgId), 'alerts.acknowledge'),
    'alerts.staffList': async ({ open }) => {
      if (options.role !== 'admin') throw new ConsoleError('forbidden', 'MSP admins only');
      return { alerts: alerts.filter((a) => a.orgId === null && (!open || a.acknowledgedAt === null)).reverse() };
    },
    'alerts.staffAcknowledge': async ({ alertId }) => acknowledge(findAlert(alertId, null), 'alerts.staffAcknowledge'),

    'scripts.list': async ({ orgId }) => {
      if (!canAnywhere('scripts.read')) throw new ConsoleError('forbidden', 'You need the scripts.read permission');
      return { scripts: scripts.filter((d) => d.script.orgId === orgId).map((d) => ({ ...d.script })).sort((a, b) => a.name.localeCompare(b.name)) };
    },
    'scripts.get': async ({ orgId, scriptId }) => {
      const found = findScript(orgId, scriptId);
      return { script: { ...found.script }, versions: found.versions.map((v) => ({ ...v })) };
    },
    'scripts.create': async ({ orgId, unitId, name, language, body, parameters, timeoutSeconds }) => {
      require('scripts.create', 'scripts.write', unitId);
      const scriptId = randomUUID();
      const version = scriptVersion(scriptId, 1, { language, body, parameters, timeoutSeconds }, me);
      const created: ScriptDetail = { script: { id: scriptId, orgId, unitId, name, language, latestVersion: 1, latestApprovedVersion: null, pendingVersions: 1, createdAt: now() }, versions: [version] };
      scripts.push(created);
      record('script.created', { type: 'script', id: scriptId }, { name, language, unitId, version: 1, sha256: version.sha256 });
      return { script: { ...created.script }, versions: [{ ...version }] };
    },
    'scripts.addVersion': async ({ orgId, scriptId, body, parameters, timeoutSeconds }) => {
      const found = findScript(orgId, scriptId);
      require('scripts.addVersion', 'scripts.write', found.script.unitId);
      const version = scriptVersion(scriptId, found.script.latestVersion + 1, { language: found.script.language, body, parameters, timeoutSeconds }, me);
      found.versions.unshift(version);
      recount(found);
      record('script.submitted', { type: 'script', id: scriptId }, { version: version.version, sha256: version.sha256 });
      return { ...version };
    },
    'scripts.approve': async (request) => decideScript('scripts.approve', request, 'approved'),
    'scripts.reject': async (request) => decideScript('scripts.reject', request, 'rejected'),
  };

  const calls: IpcChannel[] = [];
  const recorded = Object.fromEntries(
    (Object.keys(handlers) as IpcChannel[]).map((channel) => [
      channel,
      (request: never) => {
        calls.push(channel);
        return (handlers[channel] as (request: never) => Promise<unknown>)(request);
      },
    ]),
  ) as IpcHandlerMap;

  return { handlers: recorded, events, changes, entered, units, grants, audit, calls, stepUps, sessions, alerts, auth, raiseAlert, scripts };
}

/** Ten codes as printed (`ABCDE-FGHJK`), kept without the dash. */
function backupCodeSet(): Set<string> {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return new Set(Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => alphabet[(i * 7 + j * 13 + 3) % alphabet.length]).join('')));
}

/** How a backup code is shown: two groups of five. */
export function printedBackupCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}
