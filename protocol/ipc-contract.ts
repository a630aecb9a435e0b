import { z } from 'zod';
import {
  AuditExportQuery,
  AuditPage,
  AuditQuery,
  CreateGrantBody,
  CreateUnitBody,
  CreateUserBody,
  CreateWorkspaceItemBody,
  Grant,
  GrantList,
  GrantParams,
  Me,
  OrgAccess,
  OrgSettings,
  SharedItemList,
  UnitParams,
  UpdateWorkspaceItemBody,
  User,
  UserList,
  WorkspaceItem,
  WorkspaceItemList,
  WorkspaceItemParams,
} from './access';
import { Alert, AlertList, AlertParams, StaffAlertParams } from './alerts';
import { AgentDetail, AgentList, AgentParams, AgentSummary, OrgList, OrgParams, Unit, UnitList } from './api';
import { ErrorCode } from './errors';
import { OrgIdentity, RevokedSession, RevokeSessionBody, SessionEndKind, SessionList, SessionParams, SessionTimes, StaffSessionParams } from './identity';
import { BackupCode, BackupCodes, EnrolmentStarted, MfaResetResult, MfaStatus, StepUpAction, TotpCode, UserParams } from './mfa';
import { CreateScriptBody, NewScriptVersionBody, ScriptDecisionBody, ScriptDetail, ScriptList, ScriptParams, ScriptVersion } from './scripts';

/*
 * The one IPC contract between the console's renderer and its main side. Electron's ipcMain,
 * the preload bridge and the browser host all carry exactly these channels and events, parsed
 * with these schemas on the main side. Environment-agnostic: zod and protocol/ only.
 */

/** Error codes that can cross IPC: the server's codes plus what only the console side can say. */
export const IpcErrorCode = z.enum([
  ...ErrorCode.options,
  /** The server could not be reached (DNS, refused, timeout, connection reset). */
  'server_unreachable',
  /** The server's certificate did not match the configured CA or fingerprint pin. */
  'tls_untrusted',
  /** The server answered with a body that does not match the protocol schema. */
  'invalid_response',
  /** The channel is not part of this contract. */
  'unknown_channel',
  /** The IPC sender is not the console's own top-level window. */
  'sender_refused',
]);
export type IpcErrorCode = z.infer<typeof IpcErrorCode>;

export const IpcError = z.object({ code: IpcErrorCode, message: z.string() });
export type IpcError = z.infer<typeof IpcError>;

/** Thrown errors lose their shape crossing Electron IPC, so every call resolves to one of these. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  /** Origin of the RMM server this console talks to, e.g. https://rmm.example:8443. */
  serverOrigin: z.string(),
  /** Where the renderer runs: inside Electron or in a browser through the browser host. */
  host: z.enum(['electron', 'browser-host']),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const ConnectionState = z.object({
  state: z.enum(['connecting', 'online', 'offline']),
  /** Human-readable context, e.g. "retrying in 4 s: connection refused". */
  detail: z.string(),
});
export type ConnectionState = z.infer<typeof ConnectionState>;

const NoRequest = z.object({}).strict();

export const AuditExportFormat = AuditExportQuery.shape.format.unwrap();
export type AuditExportFormat = z.infer<typeof AuditExportFormat>;

/** What `audit.export` answers: the export runs on in main and reports through `audit.exportProgress`. */
export const AuditExportStarted = z.object({
  /** null when nobody chose a destination (the save dialog was dismissed). */
  exportId: z.uuid().nullable(),
  /** Where the file will be once done (absolute path on the console's machine). */
  file: z.string().nullable(),
});
export type AuditExportStarted = z.infer<typeof AuditExportStarted>;

export const AuditExportProgress = z.object({
  exportId: z.uuid(),
  orgId: z.uuid(),
  format: AuditExportFormat,
  state: z.enum(['running', 'done', 'failed', 'cancelled']),
  /** Entries written to the file so far. */
  written: z.number().int().nonnegative(),
  /** Entries the server said it will send (X-Audit-Entries), null when it did not say. */
  total: z.number().int().nonnegative().nullable(),
  file: z.string(),
  error: IpcError.nullable(),
});
export type AuditExportProgress = z.infer<typeof AuditExportProgress>;

/** The Azure AD account the console is signed in with. */
export const SignedInAccount = z.object({
  tenantId: z.string(),
  objectId: z.string(),
  username: z.string(),
  name: z.string().nullable(),
});
export type SignedInAccount = z.infer<typeof SignedInAccount>;

/** Why the console has no session any more: shown on the lock screen and in the notice window. */
export const SessionEnded = z.object({
  /** `idle` also when the console locked itself after the org's idle timeout. */
  kind: SessionEndKind,
  /** The revoker's reason, or the timeout that ran out, in words. */
  reason: z.string(),
  /** Who ended it; null for a timeout or the user's own sign-out. */
  by: z.object({ userId: z.uuid(), name: z.string() }).nullable(),
  at: z.iso.datetime(),
});
export type SessionEnded = z.infer<typeof SessionEnded>;

/**
 * The console's sign-in state, owned by main. `api-token` mode (automation and tests: a token
 * file instead of Azure AD) is always `signed-in` and never locks.
 */
export const AuthState = z.object({
  mode: z.enum(['sign-in', 'api-token']),
  /**
   * signed-out: never signed in (or signed out); signing-in: the browser page is open;
   * signed-in: a server session is the credential; locked: the session ended (idle, revoked,
   * expired) and the console shows the sign-in screen with `ended`.
   */
  state: z.enum(['signed-out', 'signing-in', 'signed-in', 'locked']),
  /** The account MSAL holds (also while locked: "sign in again as …"). */
  account: SignedInAccount.nullable(),
  session: z
    .object({
      sessionId: z.uuid(),
      userId: z.uuid(),
      /** null: an MSP staff session. */
      orgId: z.uuid().nullable(),
      /** The org's idle timeout: the console locks itself after this long without input. */
      idleMinutes: z.number().int().positive(),
      times: SessionTimes,
    })
    .nullable(),
  ended: SessionEnded.nullable(),
  /** While signing in: the identity provider's page (the browser host shows it as a link too). */
  signInUrl: z.string().nullable(),
  /** The last sign-in attempt's failure, e.g. tenant_not_registered; null after a success. */
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type AuthState = z.infer<typeof AuthState>;

/** A proof is kept in main (it is a bearer credential); the renderer learns only that it exists. */
export const StepUpGranted = z.object({ action: StepUpAction, expiresAt: z.iso.datetime() });
export type StepUpGranted = z.infer<typeof StepUpGranted>;

export const StepUpRequest = z
  .object({ action: StepUpAction, code: TotpCode.optional(), backupCode: BackupCode.optional() })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.backupCode === undefined), { message: 'give either code or backupCode', path: ['code'] });

const ShareRequest = UnitParams.extend({ itemId: z.uuid() }).strict();

/** Invoke-style calls: the renderer sends `request`, main answers `IpcResult<response>`. */
export const ipcContract = {
  'app.info': { request: NoRequest, response: AppInfo },
  'orgs.list': { request: NoRequest, response: OrgList },
  'units.list': { request: OrgParams.strict(), response: UnitList },
  'agents.list': { request: OrgParams.strict(), response: AgentList },
  'agents.get': { request: AgentParams.strict(), response: AgentDetail },
  /** Live updates for one org at a time; replaces the previous subscription. */
  'console.subscribe': { request: OrgParams.strict(), response: z.object({ orgId: z.uuid() }) },
  /** The live feed's state right now, so a renderer that loads late need not wait for an event. */
  'connection.get': { request: NoRequest, response: ConnectionState },

  /** The signed-in user (until Azure AD: the owner of the API token). */
  'me.get': { request: NoRequest, response: Me },
  /** Switch into an org: audited by the server (org.entered); answers what the caller may do there. */
  'orgs.enter': { request: OrgParams.strict(), response: OrgAccess },
  /** What the caller may do in an org, e.g. after creating a unit. */
  'orgs.access': { request: OrgParams.strict(), response: OrgAccess },
  'settings.get': { request: OrgParams.strict(), response: OrgSettings },
  'settings.update': { request: OrgParams.extend(OrgSettings.shape).strict(), response: OrgSettings },

  'units.create': { request: OrgParams.extend(CreateUnitBody.shape).strict(), response: Unit },
  'units.rename': { request: UnitParams.extend({ name: z.string().trim().min(1).max(200) }).strict(), response: Unit },
  'units.activate': { request: UnitParams.strict(), response: Unit },
  'units.deactivate': { request: UnitParams.strict(), response: Unit },

  'users.list': { request: OrgParams.strict(), response: UserList },
  'users.create': { request: OrgParams.extend(CreateUserBody.shape).strict(), response: User },
  'grants.list': { request: OrgParams.strict(), response: GrantList },
  'grants.create': { request: OrgParams.extend(CreateGrantBody.shape).strict(), response: Grant },
  'grants.revoke': { request: GrantParams.strict(), response: Grant },

  /** The caller's own workspace items (with where each is shared). */
  'workspace.list': { request: NoRequest, response: WorkspaceItemList },
  'workspace.create': { request: CreateWorkspaceItemBody, response: WorkspaceItem },
  'workspace.update': { request: WorkspaceItemParams.extend(UpdateWorkspaceItemBody.shape).strict(), response: WorkspaceItem },
  /** Deletes one of the caller's items (its shares end with it); answers the deleted item. */
  'workspace.delete': { request: WorkspaceItemParams.strict(), response: WorkspaceItem },
  /** Shares one of the caller's items into a unit; answers the item with its shares. */
  'workspace.share': { request: ShareRequest, response: WorkspaceItem },
  'workspace.unshare': { request: ShareRequest, response: WorkspaceItem },
  /** Items other users shared into units of this org that the caller may read. */
  'workspace.shared': { request: OrgParams.strict(), response: SharedItemList },

  /** One page of the org's audit log, newest first; `before` pages back (keyset). */
  'audit.list': { request: OrgParams.extend(AuditQuery.shape).strict(), response: AuditPage },
  /** Streams the org's audit log to a file in main; progress arrives as `audit.exportProgress`. */
  'audit.export': { request: OrgParams.extend(AuditExportQuery.shape).strict(), response: AuditExportStarted },
  'audit.cancelExport': { request: z.object({ exportId: z.uuid() }).strict(), response: z.object({ exportId: z.uuid(), cancelled: z.boolean() }) },

  /** Sign-in state right now (the renderer also gets every change as `auth.state`). */
  'auth.state': { request: NoRequest, response: AuthState },
  /**
   * Interactive sign-in: opens the identity provider's page (Electron: the system browser;
   * browser host: `auth.state.signInUrl`, which the page opens in a new tab) and resolves once
   * the server session is open. Also unlocks a locked console, as the same or another user.
   */
  'auth.signIn': { request: NoRequest, response: AuthState },
  /** Ends the server session and forgets the account. */
  'auth.signOut': { request: NoRequest, response: AuthState },
  /** The user did something (key, click, scroll): postpones the idle lock; sent at most every 10 s. */
  'auth.activity': { request: NoRequest, response: z.object({ idleExpiresAt: z.iso.datetime().nullable() }) },

  /** The caller's own open sessions. */
  'sessions.mine': { request: NoRequest, response: SessionList },
  /** Open sessions of an org (sessions.read). */
  'sessions.list': { request: OrgParams.strict(), response: SessionList },
  /** Ends a session of the org; another user's needs step-up `sessions.revoke_other`. */
  'sessions.revoke': { request: SessionParams.extend(RevokeSessionBody.shape).strict(), response: RevokedSession },
  /** MSP staff sessions (MSP admins). */
  'sessions.staffList': { request: NoRequest, response: SessionList },
  'sessions.staffRevoke': { request: StaffSessionParams.extend(RevokeSessionBody.shape).strict(), response: RevokedSession },

  'mfa.status': { request: NoRequest, response: MfaStatus },
  /** Starts TOTP enrolment: the secret and QR code, shown once (re-enrolling needs step-up `mfa.reenrol`). */
  'mfa.enrol': { request: NoRequest, response: EnrolmentStarted },
  /** Confirms enrolment with a first code; answers the ten backup codes, shown once. */
  'mfa.confirm': { request: z.object({ code: TotpCode }).strict(), response: BackupCodes },
  /** Proves a second factor for one action; main keeps the proof for that action's next call. */
  'mfa.stepUp': { request: StepUpRequest, response: StepUpGranted },
  /** New backup codes (the old set stops working); step-up `mfa.backup_codes`. */
  'mfa.regenerateBackupCodes': { request: NoRequest, response: BackupCodes },
  /** Resets a member's MFA; step-up `mfa.reset`. */
  'mfa.reset': { request: UserParams.strict(), response: MfaResetResult },

  /** The org's sign-in settings (Azure tenant, default role, session timeouts). */
  'identity.get': { request: OrgParams.strict(), response: OrgIdentity },
  /** Changes them; step-up `org.security_settings`. */
  'identity.update': { request: OrgParams.extend(OrgIdentity.shape).strict(), response: OrgIdentity },

  /** The org's alerts, newest first (alerts.read). */
  'alerts.list': { request: OrgParams.extend({ open: z.boolean().optional() }).strict(), response: AlertList },
  'alerts.acknowledge': { request: AlertParams.strict(), response: Alert },
  /** Alerts about MSP staff users (MSP admins). */
  'alerts.staffList': { request: z.object({ open: z.boolean().optional() }).strict(), response: AlertList },
  'alerts.staffAcknowledge': { request: StaffAlertParams.strict(), response: Alert },

  /** The org's script library the caller may read (docs/scripts.md). */
  'scripts.list': { request: OrgParams.strict(), response: ScriptList },
  /** A script with all its versions, newest first. */
  'scripts.get': { request: ScriptParams.strict(), response: ScriptDetail },
  /** A new script with its version 1, pending approval. */
  'scripts.create': { request: OrgParams.extend(CreateScriptBody.shape).strict(), response: ScriptDetail },
  /** Edits a script: its next version, pending approval. */
  'scripts.addVersion': { request: ScriptParams.extend(NewScriptVersionBody.shape).strict(), response: ScriptVersion },
  /** Decides a pending version with a reason; step-up `scripts.approve`, never by its author (own_script). */
  'scripts.approve': { request: ScriptParams.extend(ScriptDecisionBody.shape).strict(), response: ScriptVersion },
  'scripts.reject': { request: ScriptParams.extend(ScriptDecisionBody.shape).strict(), response: ScriptVersion },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;

/**
 * The step-up action each guarded channel proves (docs/mfa.md). The server decides whether a call
 * needs it (revoking one's own session or a first enrolment does not); main attaches a held proof
 * for that action to the call, and the renderer asks for one when the server says it is missing.
 */
export const STEP_UP_CHANNELS = {
  'audit.export': 'audit.export',
  'grants.create': 'grants.change',
  'grants.revoke': 'grants.change',
  'settings.update': 'org.security_settings',
  'identity.update': 'org.security_settings',
  'sessions.revoke': 'sessions.revoke_other',
  'sessions.staffRevoke': 'sessions.revoke_other',
  'mfa.regenerateBackupCodes': 'mfa.backup_codes',
  'mfa.reset': 'mfa.reset',
  'mfa.enrol': 'mfa.reenrol',
  'scripts.approve': 'scripts.approve',
  'scripts.reject': 'scripts.approve',
} as const satisfies Partial<Record<keyof typeof ipcContract, StepUpAction>>;

export type StepUpChannel = keyof typeof STEP_UP_CHANNELS;

export function stepUpActionOf(channel: string): StepUpAction | undefined {
  return Object.hasOwn(STEP_UP_CHANNELS, channel) ? STEP_UP_CHANNELS[channel as StepUpChannel] : undefined;
}

/** Events pushed from main to the renderer. */
export const ipcEvents = {
  'agent.status': z.object({ agent: AgentSummary }),
  'agent.inventory': z.object({ agent: AgentDetail }),
  'connection.state': ConnectionState,
  'audit.exportProgress': AuditExportProgress,
  'auth.state': AuthState,
  /** A new alert for this user's eyes (backup code used, MFA lock-out, …). */
  'alert.raised': Alert,
} as const satisfies Record<string, z.ZodType>;

export type IpcChannel = keyof typeof ipcContract;
export type IpcRequest<C extends IpcChannel> = z.input<(typeof ipcContract)[C]['request']>;
export type IpcResponse<C extends IpcChannel> = z.output<(typeof ipcContract)[C]['response']>;
export type IpcEventName = keyof typeof ipcEvents;
export type IpcEventPayload<E extends IpcEventName> = z.output<(typeof ipcEvents)[E]>;

/** What main implements: one async function per channel, request already parsed. */
export type IpcHandlerMap = {
  [C in IpcChannel]: (request: z.output<(typeof ipcContract)[C]['request']>) => Promise<IpcResponse<C>>;
};

/** One pushed event as it travels: a discriminated union over the event map. */
export type IpcEventEnvelope = { [E in IpcEventName]: { event: E; payload: IpcEventPayload<E> } }[IpcEventName];

export function isIpcChannel(name: unknown): name is IpcChannel {
  return typeof name === 'string' && Object.hasOwn(ipcContract, name);
}

export function isIpcEventName(name: unknown): name is IpcEventName {
  return typeof name === 'string' && Object.hasOwn(ipcEvents, name);
}

/*
 * Electron channel names. Prefixed so an invoke channel and an event can never collide and so
 * nothing outside the contract shares the namespace.
 */
export function ipcInvokeChannel(channel: IpcChannel): string {
  return `rmm:invoke:${channel}`;
}

export function ipcEventChannel(event: IpcEventName): string {
  return `rmm:event:${event}`;
}
