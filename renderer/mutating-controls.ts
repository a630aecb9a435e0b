/*
 * Every control that changes something, or starts an audited export, by its data-testid. Each
 * also carries data-mutates="true". A control appears only where the signed-in user holds its
 * permission, so a viewer sees none of them: the browser and end-to-end tests scan for all.
 */
export const MUTATING_CONTROL_TEST_IDS = [
  // units (units.manage / units.activate at the unit; top-level units at the org level)
  'unit-create',
  'unit-add-child',
  'unit-rename',
  'unit-name-save',
  'unit-activate',
  'unit-deactivate',
  // members and grants (grants.manage)
  'user-add',
  'grant-create',
  'grant-revoke',
  // a member's second factor (grants.manage at the org root; step-up mfa.reset)
  'mfa-reset',
  // personal workspace (scripts.write / notes.write; sharing needs workspace.share at the unit)
  'workspace-new-script',
  'workspace-new-note',
  'workspace-save',
  'workspace-delete',
  'workspace-share',
  'workspace-unshare',
  // audit (audit.export) and org settings (org.settings)
  'audit-export',
  'settings-save',
  // sign-in settings (org.settings), sessions (sessions.revoke; MSP admins: staff sessions),
  // alerts (alerts.read). One's own Security screen is not here: every user may use it.
  'identity-save',
  'session-revoke',
  'staff-session-revoke',
  'alert-acknowledge',
  // script library (scripts.write on the script's unit; deciding: scripts.approve and step-up)
  'script-new',
  'script-new-version',
  'script-save',
  'script-approve',
  'script-reject',
] as const;
