import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Grant, User } from '../../protocol/access';
import type { Unit } from '../../protocol/api';
import type { GrantRole } from '../../protocol/permissions';
import { api, errorMessage } from '../api';
import { canAnywhere, canAt, unitsWhere } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useIdentityStore } from '../stores/identity-store';
import { useOrgStore } from '../stores/org-store';
import { usePeopleStore } from '../stores/people-store';
import { ActionMessageLine, useAction } from './use-action';
import { unitPath, unitsInTreeOrder } from '../unit-tree';

const ROLE_LABELS: Record<GrantRole, string> = {
  tenant_admin: 'Tenant admin',
  tech: 'Technician',
  viewer: 'Viewer',
  provisioning: 'Provisioning',
};
const ROLES = Object.keys(ROLE_LABELS) as GrantRole[];
const isRole = (value: string): value is GrantRole => Object.hasOwn(ROLE_LABELS, value);

/** Members and staff of the org with their grants; adding members, granting and revoking where allowed. */
export function PeopleView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const units = useOrgStore((s) => s.units);
  const access = useAccessStore((s) => s.access);
  const users = usePeopleStore((s) => s.users);
  const grants = usePeopleStore((s) => s.grants);
  const status = usePeopleStore((s) => s.status);
  const error = usePeopleStore((s) => s.error);
  const load = usePeopleStore((s) => s.load);
  const revoke = usePeopleStore((s) => s.revoke);
  const myId = useIdentityStore((s) => s.user?.id);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    if (orgId) void load(orgId);
  }, [orgId, load]);

  const grantsByUser = useMemo(() => {
    const map = new Map<string, Grant[]>();
    for (const grant of grants) map.set(grant.userId, [...(map.get(grant.userId) ?? []), grant]);
    return map;
  }, [grants]);

  if (!orgId) return null;
  const scopeName = (unitId: string | null): string => (unitId === null ? 'whole organisation' : unitPath(units, unitId));
  const onRevoke = async (grant: Grant): Promise<void> => {
    setActionError(null);
    try {
      await revoke(grant.id);
    } catch (err) {
      setActionError(errorMessage(err));
    }
  };

  return (
    <section className="panel" aria-labelledby="people-heading" data-testid="people-view">
      <header className="panel-header">
        <h2 id="people-heading">Users &amp; grants</h2>
      </header>
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      {actionError && <p className="error-text" role="alert" data-testid="people-error">{actionError}</p>}
      {status === 'loading' && users.length === 0 && <p className="muted">Loading…</p>}
      <table className="data-table" data-testid="user-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Kind</th>
            <th scope="col">Grants</th>
            <th scope="col">MFA</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr key={user.id} data-testid="user-row" data-user-id={user.id}>
              <td>{user.displayName}</td>
              <td className="mono">{user.email}</td>
              <td>{user.platformAdmin ? 'MSP admin' : user.orgId === null ? 'MSP staff' : 'Member'}</td>
              <td>
                <ul className="grant-list">
                  {(grantsByUser.get(user.id) ?? []).map((grant) => (
                    <li key={grant.id} className="grant-chip" data-testid="grant-row" data-grant-id={grant.id} data-role={grant.role} data-unit-id={grant.unitId ?? ''}>
                      <span>
                        {ROLE_LABELS[grant.role]} · {scopeName(grant.unitId)}
                      </span>
                      {canAt(access, 'grants.manage', grant.unitId) && (
                        <button
                          type="button"
                          className="button small quiet"
                          data-testid="grant-revoke"
                          data-mutates="true"
                          aria-label={`Revoke ${ROLE_LABELS[grant.role]} on ${scopeName(grant.unitId)} from ${user.displayName}`}
                          onClick={() => void onRevoke(grant)}
                        >
                          Revoke
                        </button>
                      )}
                    </li>
                  ))}
                  {(grantsByUser.get(user.id) ?? []).length === 0 && <li className="muted">no grants</li>}
                </ul>
              </td>
              <td>{canAt(access, 'grants.manage', null) && user.orgId === orgId && user.id !== myId && <MfaReset orgId={orgId} user={user} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {canAnywhere(access, 'grants.manage') && (
        <div className="form-row">
          <AddMemberForm />
          <GrantForm users={users} scopes={grantScopes(access ? [...unitsWhere(access, 'grants.manage')] : [], canAt(access, 'grants.manage', null), units)} />
        </div>
      )}
    </section>
  );
}

function grantScopes(unitIds: string[], wholeOrg: boolean, units: Unit[]): Array<{ value: string; label: string }> {
  const allowed = new Set(unitIds);
  const scopes = unitsInTreeOrder(units)
    .filter((unit) => allowed.has(unit.id))
    .map((unit) => ({ value: unit.id, label: unitPath(units, unit.id) }));
  return wholeOrg ? [{ value: '', label: 'Whole organisation' }, ...scopes] : scopes;
}

function AddMemberForm() {
  const addUser = usePeopleStore((s) => s.addUser);
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const { busy, message, run } = useAction();
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    await run(() => addUser(displayName.trim(), email.trim()), (user) => {
      setDisplayName('');
      setEmail('');
      return `${user.displayName} was added.`;
    });
  };
  return (
    <form className="card" aria-labelledby="add-member-heading" onSubmit={(e) => void submit(e)}>
      <h3 id="add-member-heading" className="card-heading">Add a member</h3>
      <label className="field">
        <span>Name</span>
        <input data-testid="user-name-input" value={displayName} maxLength={200} required onChange={(e) => setDisplayName(e.target.value)} />
      </label>
      <label className="field">
        <span>Email</span>
        <input type="email" data-testid="user-email-input" value={email} maxLength={320} required onChange={(e) => setEmail(e.target.value)} />
      </label>
      <button type="submit" className="button" data-testid="user-add" data-mutates="true" disabled={busy || !displayName.trim() || !email.trim()}>
        Add member
      </button>
      <ActionMessageLine message={message} />
    </form>
  );
}

function GrantForm({ users, scopes }: { users: User[]; scopes: Array<{ value: string; label: string }> }) {
  const grant = usePeopleStore((s) => s.grant);
  const [userId, setUserId] = useState('');
  const [role, setRole] = useState<GrantRole>('tech');
  const [scope, setScope] = useState<string | null>(null);
  const { busy, message, run } = useAction();
  const chosenScope = scope ?? scopes[0]?.value ?? '';
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    await run(() => grant(userId, role, chosenScope === '' ? null : chosenScope), () => {
      const who = users.find((u) => u.id === userId)?.displayName ?? 'The user';
      return `${who} is now ${ROLE_LABELS[role]} on ${scopes.find((s) => s.value === chosenScope)?.label ?? 'the unit'}.`;
    });
  };
  return (
    <form className="card" aria-labelledby="grant-heading" onSubmit={(e) => void submit(e)}>
      <h3 id="grant-heading" className="card-heading">Grant a role</h3>
      <label className="field">
        <span>User</span>
        <select data-testid="grant-user" value={userId} required onChange={(e) => setUserId(e.target.value)}>
          <option value="">Choose a user…</option>
          {users.map((user) => (
            <option key={user.id} value={user.id}>
              {user.displayName} ({user.email})
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Role</span>
        <select data-testid="grant-role" value={role} onChange={(e) => isRole(e.target.value) && setRole(e.target.value)}>
          {ROLES.map((option) => (
            <option key={option} value={option}>
              {ROLE_LABELS[option]}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>On</span>
        <select data-testid="grant-unit" value={chosenScope} onChange={(e) => setScope(e.target.value)}>
          {scopes.map((option) => (
            <option key={option.value || 'org'} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <p className="muted small">A role on a unit applies to that unit and everything below it.</p>
      <button type="submit" className="button" data-testid="grant-create" data-mutates="true" disabled={busy || !userId || scopes.length === 0}>
        Grant
      </button>
      <ActionMessageLine message={message} testId="grant-message" />
    </form>
  );
}

/** An admin's reset of a member's second factor (they enrol again); asks to be sure, then for step-up. */
function MfaReset({ orgId, user }: { orgId: string; user: User }) {
  const [asking, setAsking] = useState(false);
  const { busy, message, run } = useAction();
  const reset = async (): Promise<void> => {
    const ok = await run(() => api.resetMfa(orgId, user.id), (result) =>
      result.hadMfa ? `${user.displayName} sets up MFA again at the next step-up.` : `${user.displayName} had no MFA set up.`,
    );
    if (ok) setAsking(false);
  };
  return (
    <div className="mfa-reset">
      {!asking ? (
        <button type="button" className="button small quiet" data-testid="mfa-reset" data-mutates="true" aria-label={`Reset MFA of ${user.displayName}`} onClick={() => setAsking(true)}>
          Reset MFA
        </button>
      ) : (
        <span className="row-actions" role="group" aria-label={`Reset MFA of ${user.displayName}?`}>
          <button type="button" className="button small danger" data-testid="mfa-reset-confirm" disabled={busy} onClick={() => void reset()}>
            Reset {user.displayName}&apos;s MFA
          </button>
          <button type="button" className="button small quiet" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </span>
      )}
      <ActionMessageLine message={message} testId="mfa-reset-message" />
    </div>
  );
}
