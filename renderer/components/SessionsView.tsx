import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { Session } from '../../protocol/identity';
import { api, errorMessage } from '../api';
import { formatDateTime } from '../format';
import { canAt } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useOrgStore } from '../stores/org-store';
import { ActionMessageLine, useAction } from './use-action';

/*
 * Open sessions: one's own everywhere; the org's for holders of sessions.read, with Revoke
 * (sessions.revoke; a reason is required, and ending another user's session asks for step-up);
 * MSP staff sessions for MSP admins. A revoked console locks within a second.
 */

type Scope = 'mine' | 'org' | 'staff';

interface Lists {
  mine: Session[];
  org: Session[] | null;
  staff: Session[] | null;
}

export function SessionsView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const access = useAccessStore((s) => s.access);
  const readOrg = canAt(access, 'sessions.read', null);
  const revokeOrg = canAt(access, 'sessions.revoke', null);
  const staff = access?.platformAdmin ?? false;
  const [lists, setLists] = useState<Lists | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (): Promise<void> => {
    if (!orgId) return;
    try {
      const [mine, org, staffList] = await Promise.all([
        api.mySessions(),
        readOrg ? api.orgSessions(orgId) : Promise.resolve(null),
        staff ? api.staffSessions() : Promise.resolve(null),
      ]);
      setLists({ mine: mine.sessions, org: org?.sessions ?? null, staff: staffList?.sessions ?? null });
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [orgId, readOrg, staff]);

  useEffect(() => {
    void load();
  }, [load]);

  if (!orgId) return null;
  const revoke = async (scope: Scope, session: Session, reason: string): Promise<void> => {
    if (scope === 'staff') await api.revokeStaffSession({ sessionId: session.id, reason });
    else await api.revokeSession({ orgId, sessionId: session.id, reason });
    await load();
  };

  return (
    <section className="panel" aria-labelledby="sessions-heading" data-testid="sessions-view">
      <header className="panel-header">
        <h2 id="sessions-heading">Sessions</h2>
        <button type="button" className="button small quiet" onClick={() => void load()}>
          Refresh
        </button>
      </header>
      {error && <p className="error-text" role="alert">{error}</p>}
      {!lists && !error && <p className="muted">Loading…</p>}
      {lists && (
        <>
          <SessionTable title="My sessions" testId="my-sessions" sessions={lists.mine} showUser={false} />
          {lists.org && (
            <SessionTable title="Sessions in this organisation" testId="org-sessions" sessions={lists.org} showUser onRevoke={revokeOrg ? (s, r) => revoke('org', s, r) : undefined} revokeTestId="session-revoke" />
          )}
          {lists.staff && (
            <SessionTable title="MSP staff sessions" testId="staff-sessions" sessions={lists.staff} showUser onRevoke={(s, r) => revoke('staff', s, r)} revokeTestId="staff-session-revoke" />
          )}
        </>
      )}
    </section>
  );
}

function SessionTable(props: {
  title: string;
  testId: string;
  sessions: Session[];
  showUser: boolean;
  onRevoke?: (session: Session, reason: string) => Promise<void>;
  revokeTestId?: string;
}) {
  const { title, testId, sessions, showUser, onRevoke, revokeTestId } = props;
  const [revoking, setRevoking] = useState<string | null>(null);
  const headingId = `${testId}-heading`;
  const columns = (showUser ? 1 : 0) + 5 + (onRevoke ? 1 : 0);
  return (
    <div className="subpanel" data-testid={testId}>
      <h3 id={headingId} className="card-heading">{title}</h3>
      {sessions.length === 0 ? (
        <p className="muted">No open sessions.</p>
      ) : (
        <table className="data-table" aria-labelledby={headingId}>
          <thead>
            <tr>
              {showUser && <th scope="col">User</th>}
              <th scope="col">Device</th>
              <th scope="col">IP</th>
              <th scope="col">Started</th>
              <th scope="col">Last activity</th>
              <th scope="col">State</th>
              {onRevoke && <th scope="col"><span className="visually-hidden">Actions</span></th>}
            </tr>
          </thead>
          <tbody>
            {sessions.map((session) => (
              <SessionRow key={session.id} session={session} showUser={showUser} columns={columns} onRevoke={onRevoke} revokeTestId={revokeTestId} revoking={revoking === session.id} setRevoking={setRevoking} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function SessionRow(props: {
  session: Session;
  showUser: boolean;
  columns: number;
  onRevoke?: (session: Session, reason: string) => Promise<void>;
  revokeTestId?: string;
  revoking: boolean;
  setRevoking: (id: string | null) => void;
}) {
  const { session, showUser, columns, onRevoke, revokeTestId, revoking, setRevoking } = props;
  const [reason, setReason] = useState('');
  const { busy, message, run } = useAction();
  const who = session.current ? 'this console' : `${session.userName}'s session`;
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!onRevoke) return;
    const ok = await run(() => onRevoke(session, reason.trim()), () => null);
    if (ok) setRevoking(null);
  };
  return (
    <>
      <tr data-testid="session-row" data-session-id={session.id} data-current={session.current} data-user-id={session.userId}>
        {showUser && <td>{session.userName}</td>}
        <td className="small">{session.userAgent ?? 'unknown device'}</td>
        <td className="mono">{session.ip ?? '—'}</td>
        <td title={session.createdAt}>{formatDateTime(session.createdAt)}</td>
        <td title={session.lastActivityAt}>{formatDateTime(session.lastActivityAt)}</td>
        <td>
          {session.current ? <span className="tag" data-testid="session-current">This console</span> : session.endedAt ? <span className="muted">ended</span> : <span className="muted">open</span>}
        </td>
        {onRevoke && (
          <td>
            {!session.endedAt && (
              <button
                type="button"
                className="button small danger"
                data-testid={revokeTestId}
                data-mutates="true"
                aria-expanded={revoking}
                aria-label={`Revoke ${who} (${session.userAgent ?? 'unknown device'})`}
                onClick={() => setRevoking(revoking ? null : session.id)}
              >
                Revoke
              </button>
            )}
          </td>
        )}
      </tr>
      {revoking && onRevoke && (
        <tr className="row-form">
          <td colSpan={columns}>
            <form className="inline-form" aria-label={`End ${who}`} onSubmit={(e) => void submit(e)}>
              <label className="field inline">
                <span>Reason (shown to {session.current ? 'you' : session.userName})</span>
                <input data-testid="session-revoke-reason" value={reason} required maxLength={500} autoFocus size={40} onChange={(e) => setReason(e.target.value)} />
              </label>
              <button type="submit" className="button small danger" data-testid="session-revoke-confirm" disabled={busy || !reason.trim()}>
                End session
              </button>
              <button type="button" className="button small quiet" onClick={() => setRevoking(null)}>
                Cancel
              </button>
              <ActionMessageLine message={message} testId="session-revoke-message" />
            </form>
          </td>
        </tr>
      )}
    </>
  );
}
