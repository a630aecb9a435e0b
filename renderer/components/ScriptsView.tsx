import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Unit } from '../../protocol/api';
import { ScriptLanguage, type ScriptDetail, type ScriptParameter, type ScriptVersion } from '../../protocol/scripts';
import { api, ApiError, errorMessage } from '../api';
import { formatDateTime } from '../format';
import { lineDiff } from '../line-diff';
import { canAnywhere, canAt, unitsWhere } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useIdentityStore } from '../stores/identity-store';
import { useOrgStore } from '../stores/org-store';
import { unitPath, unitsInTreeOrder } from '../unit-tree';
import { ActionMessageLine, useAction } from './use-action';

/*
 * The org script library (docs/scripts.md): scripts with their latest version and how many wait
 * for approval; a script's versions (status, author, hash, who decided and why); a form for a new
 * script or its next version; and, for holders of scripts.approve, the queue of other people's
 * pending versions, each reviewed as a line diff against the version before it and approved or
 * rejected with a reason (step-up asked by api.ts). The server decides every call again.
 */

/** Which version is under review. */
interface Review {
  scriptId: string;
  version: number;
}

type Editor = { mode: 'create' } | { mode: 'version'; scriptId: string };

export function ScriptsView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const units = useOrgStore((s) => s.units);
  const access = useAccessStore((s) => s.access);
  const me = useIdentityStore((s) => s.user);
  const approver = canAnywhere(access, 'scripts.approve');
  const [details, setDetails] = useState<ScriptDetail[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [editor, setEditor] = useState<Editor | null>(null);
  const [review, setReview] = useState<Review | null>(null);

  // Every script with its versions: the library is small, and the queue needs the pending ones.
  const load = useCallback(async (): Promise<void> => {
    if (!orgId) return;
    try {
      const { scripts } = await api.listScripts(orgId);
      setDetails(await Promise.all(scripts.map((s) => api.getScript(orgId, s.id))));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [orgId]);

  useEffect(() => {
    void load();
  }, [load]);

  const queue = useMemo(
    () => (details ?? []).flatMap((d) => d.versions.filter((v) => v.status === 'pending' && v.authorId !== me?.id).map((v) => ({ detail: d, version: v }))),
    [details, me],
  );
  if (!orgId) return null;
  const shown = details?.find((d) => d.script.id === selected) ?? null;
  const reviewed = review ? details?.find((d) => d.script.id === review.scriptId) : undefined;
  const where = (unitId: string | null): string => (unitId === null ? 'Whole organisation' : unitPath(units, unitId));

  return (
    <section className="panel" aria-labelledby="scripts-heading" data-testid="scripts-view">
      <header className="panel-header">
        <h2 id="scripts-heading">Scripts</h2>
        {canAnywhere(access, 'scripts.write') && (
          <button type="button" className="button small" data-testid="script-new" data-mutates="true" onClick={() => setEditor({ mode: 'create' })}>
            New script
          </button>
        )}
      </header>
      {error && <p className="error-text" role="alert">{error}</p>}

      {approver && (
        <section className="subpanel" aria-labelledby="script-queue-heading" data-testid="script-queue">
          <h3 id="script-queue-heading" className="card-heading">Waiting for your approval</h3>
          {details && queue.length === 0 && <p className="muted">Nothing waiting.</p>}
          <ul className="item-list">
            {queue.map(({ detail, version }) => (
              <li key={`${detail.script.id}:${version.version}`} data-testid="script-queue-row" data-script-id={detail.script.id} data-version={version.version}>
                <strong>{detail.script.name}</strong> version {version.version} <span className="muted">by {version.authorName}, {formatDateTime(version.createdAt)}</span>{' '}
                <button type="button" className="button small quiet" aria-label={`Review ${detail.script.name} version ${version.version}`} onClick={() => setReview({ scriptId: detail.script.id, version: version.version })}>
                  Review
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}

      {details && details.length === 0 && <p className="muted empty">No scripts in the library yet.</p>}
      {details && details.length > 0 && (
        <table className="data-table" data-testid="script-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Language</th>
              <th scope="col">Where</th>
              <th scope="col">Latest version</th>
              <th scope="col">Pending approval</th>
            </tr>
          </thead>
          <tbody>
            {details.map(({ script }) => (
              <tr key={script.id} data-testid="script-row" data-script-id={script.id} aria-selected={script.id === selected}>
                <td>
                  <button type="button" className="link-button" onClick={() => setSelected(script.id)}>
                    {script.name}
                  </button>
                </td>
                <td data-testid="script-language">{script.language}</td>
                <td>{where(script.unitId)}</td>
                <td data-testid="script-latest">
                  v{script.latestVersion}
                  {script.latestApprovedVersion !== null && script.latestApprovedVersion !== script.latestVersion && <span className="muted"> (approved: v{script.latestApprovedVersion})</span>}
                  {script.latestApprovedVersion === null && <span className="muted"> (none approved)</span>}
                </td>
                <td data-testid="script-pending">{script.pendingVersions}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {editor && (
        <ScriptEditor
          key={editor.mode === 'create' ? 'create' : editor.scriptId}
          orgId={orgId}
          units={units}
          editor={editor}
          detail={editor.mode === 'version' ? details?.find((d) => d.script.id === editor.scriptId) : undefined}
          onDone={async (scriptId) => {
            setEditor(null);
            if (scriptId) setSelected(scriptId);
            await load();
          }}
        />
      )}

      {shown && (
        <ScriptVersions
          detail={shown}
          where={where(shown.script.unitId)}
          canWrite={canAt(access, 'scripts.write', shown.script.unitId)}
          canApprove={canAt(access, 'scripts.approve', shown.script.unitId)}
          onNewVersion={() => setEditor({ mode: 'version', scriptId: shown.script.id })}
          onReview={(version) => setReview({ scriptId: shown.script.id, version })}
        />
      )}

      {review && reviewed && (
        <ReviewPanel
          key={`${review.scriptId}:${review.version}`}
          orgId={orgId}
          detail={reviewed}
          version={review.version}
          onDecided={load}
          onClose={() => setReview(null)}
        />
      )}
    </section>
  );
}

function describeParameters(parameters: ScriptParameter[]): string {
  if (parameters.length === 0) return 'none';
  return parameters.map((p) => `${p.name} (${p.type}${p.required ? ', required' : ''}${p.maxLength !== undefined ? `, at most ${p.maxLength}` : ''})`).join(', ');
}

function shortHash(sha256: string): string {
  return sha256.slice(0, 12);
}

function ScriptVersions(props: { detail: ScriptDetail; where: string; canWrite: boolean; canApprove: boolean; onNewVersion(): void; onReview(version: number): void }) {
  const { script, versions } = props.detail;
  return (
    <section className="subpanel" aria-labelledby="script-detail-heading" data-testid="script-detail" data-script-id={script.id}>
      <div className="section-heading">
        <h3 id="script-detail-heading" className="card-heading">
          {script.name} <span className="muted">· {script.language} · {props.where}</span>
        </h3>
        {props.canWrite && (
          <button type="button" className="button small" data-testid="script-new-version" data-mutates="true" onClick={props.onNewVersion}>
            New version
          </button>
        )}
      </div>
      <table className="data-table mini-table">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Author</th>
            <th scope="col">SHA-256</th>
            <th scope="col">Decision</th>
            <th scope="col" />
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-testid="script-version-row" data-version={v.version} data-status={v.status}>
              <td>v{v.version}</td>
              <td data-testid="script-version-status">{v.status}</td>
              <td>
                {v.authorName} <span className="muted small">{formatDateTime(v.createdAt)}</span>
              </td>
              <td className="mono" title={v.sha256} data-testid="script-version-hash">
                {shortHash(v.sha256)}
              </td>
              <td data-testid="script-version-decision">{v.decidedByName ? `${v.decidedByName}: ${v.reason ?? ''}` : '—'}</td>
              <td>
                {v.status === 'pending' && props.canApprove && (
                  <button type="button" className="button small quiet" data-testid="script-review" aria-label={`Review version ${v.version}`} onClick={() => props.onReview(v.version)}>
                    Review
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** What the server's refusals mean here, in words; the rest as main mapped them. */
function decisionError(err: unknown): Error {
  if (err instanceof ApiError && err.code === 'own_script') {
    return new ApiError('own_script', 'You wrote this version, so you cannot approve or reject it: someone else with the scripts.approve permission must.');
  }
  if (err instanceof ApiError && err.code === 'conflict') return new ApiError('conflict', `Already decided: ${err.message}`);
  return err instanceof Error ? err : new Error(errorMessage(err));
}

function ReviewPanel(props: { orgId: string; detail: ScriptDetail; version: number; onDecided(): Promise<void>; onClose(): void }) {
  const { script, versions } = props.detail;
  const current = versions.find((v) => v.version === props.version);
  const previous = versions.find((v) => v.version === props.version - 1);
  const [reason, setReason] = useState('');
  const { busy, message, run } = useAction();
  if (!current) return null;
  const diff = lineDiff(previous?.body ?? '', current.body);
  const decide = (approve: boolean): void => {
    const request = { orgId: props.orgId, scriptId: script.id, version: current.version, reason: reason.trim() };
    void run(
      async () => {
        try {
          return await (approve ? api.approveScript(request) : api.rejectScript(request));
        } catch (err) {
          throw decisionError(err);
        }
      },
      (decided) => {
        void props.onDecided();
        return `Version ${decided.version} ${decided.status}.`;
      },
    );
  };
  return (
    <section className="subpanel" aria-labelledby="script-review-heading" data-testid="script-review-panel" data-script-id={script.id} data-version={current.version}>
      <div className="section-heading">
        <h3 id="script-review-heading" className="card-heading">
          Review {script.name} version {current.version} <span className="muted">by {current.authorName}</span>
        </h3>
        <button type="button" className="button small quiet" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p className="muted" data-testid="script-review-facts">
        {previous ? `Changes from version ${previous.version} (${previous.status})` : 'First version: every line is new'} · SHA-256 <span className="mono">{current.sha256}</span>
      </p>
      {/* The hash covers timeout and parameters too, so a change there is shown as plainly as the body's. */}
      <p data-testid="script-review-settings">
        Timeout {current.timeoutSeconds} s{previous && previous.timeoutSeconds !== current.timeoutSeconds && <strong> (was {previous.timeoutSeconds} s)</strong>} · Parameters:{' '}
        {describeParameters(current.parameters)}
        {previous && describeParameters(previous.parameters) !== describeParameters(current.parameters) && <strong> (was: {describeParameters(previous.parameters)})</strong>}
      </p>
      <pre className="code-block mono" data-testid="script-diff">
        {diff.map((line, i) => (
          <div key={i} data-testid="diff-line" data-kind={line.kind} className={`diff-${line.kind}`}>
            {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
            {line.text}
          </div>
        ))}
      </pre>
      {current.status === 'pending' ? (
        <form onSubmit={(e) => e.preventDefault()}>
          <label className="field">
            <span>Reason (required, kept with the decision)</span>
            <textarea data-testid="script-decision-reason" rows={2} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
          <div className="row-actions">
            <button type="button" className="button" data-testid="script-approve" data-mutates="true" disabled={busy || reason.trim() === ''} onClick={() => decide(true)}>
              Approve
            </button>
            <button type="button" className="button danger" data-testid="script-reject" data-mutates="true" disabled={busy || reason.trim() === ''} onClick={() => decide(false)}>
              Reject
            </button>
          </div>
        </form>
      ) : (
        <p data-testid="script-review-decided">
          {current.status} by {current.decidedByName ?? 'someone'}: {current.reason}
        </p>
      )}
      <ActionMessageLine message={message} testId="script-decision-message" />
    </section>
  );
}

interface ParameterDraft {
  name: string;
  type: ScriptParameter['type'];
  required: boolean;
}

function ScriptEditor(props: { orgId: string; units: Unit[]; editor: Editor; detail: ScriptDetail | undefined; onDone(scriptId: string | null): Promise<void> }) {
  const access = useAccessStore((s) => s.access);
  const latest: ScriptVersion | undefined = props.detail?.versions[0];
  const creating = props.editor.mode === 'create';
  const writable = unitsWhere(access, 'scripts.write');
  const places: Array<{ id: string | null; label: string }> = [
    ...(canAt(access, 'scripts.write', null) ? [{ id: null, label: 'Whole organisation' }] : []),
    ...unitsInTreeOrder(props.units).filter((u) => writable.has(u.id)).map((u) => ({ id: u.id, label: unitPath(props.units, u.id) })),
  ];
  const [name, setName] = useState('');
  const [language, setLanguage] = useState<ScriptLanguage>('powershell');
  const [place, setPlace] = useState<string>(places[0]?.id ?? '');
  const [body, setBody] = useState(latest?.body ?? '');
  const [timeout, setTimeoutSeconds] = useState(String(latest?.timeoutSeconds ?? 300));
  const [parameters, setParameters] = useState<ParameterDraft[]>(latest?.parameters.map((p) => ({ name: p.name, type: p.type, required: p.required })) ?? []);
  const { busy, message, run } = useAction();
  const timeoutSeconds = Number(timeout);
  const valid = body.trim() !== '' && Number.isInteger(timeoutSeconds) && timeoutSeconds >= 1 && timeoutSeconds <= 86_400 && (!creating || name.trim() !== '') && parameters.every((p) => p.name.trim() !== '');

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    // Descriptions and lengths of earlier versions' parameters are kept; new ones start bare.
    const params: ScriptParameter[] = parameters.map((p) => ({ ...latest?.parameters.find((old) => old.name === p.name && old.type === p.type && p.type === 'string'), name: p.name.trim(), type: p.type, required: p.required }));
    void run(
      async () => {
        if (props.editor.mode === 'create') {
          const created = await api.createScript({ orgId: props.orgId, unitId: place === '' ? null : place, name: name.trim(), language, body, parameters: params, timeoutSeconds });
          return { scriptId: created.script.id, version: 1 };
        }
        const added = await api.addScriptVersion({ orgId: props.orgId, scriptId: props.editor.scriptId, body, parameters: params, timeoutSeconds });
        return { scriptId: added.scriptId, version: added.version };
      },
      (done) => {
        void props.onDone(done.scriptId);
        return `Version ${done.version} saved, pending approval.`;
      },
    );
  };

  return (
    <form className="editor subpanel" data-testid="script-editor" onSubmit={submit}>
      <h3 className="card-heading">{creating ? 'New script' : `New version of ${props.detail?.script.name ?? 'the script'}`}</h3>
      {creating && (
        <div className="form-row">
          <label className="field">
            <span>Name</span>
            <input data-testid="script-name" maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            <span>Language</span>
            <select data-testid="script-language-input" value={language} onChange={(e) => setLanguage(ScriptLanguage.parse(e.target.value))}>
              {ScriptLanguage.options.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Where</span>
            <select data-testid="script-unit" value={place} onChange={(e) => setPlace(e.target.value)}>
              {places.map((p) => (
                <option key={p.id ?? ''} value={p.id ?? ''}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      <label className="field">
        <span>Body</span>
        <textarea data-testid="script-body" className="mono" rows={12} maxLength={65_536} value={body} onChange={(e) => setBody(e.target.value)} />
      </label>
      <label className="field">
        <span>Timeout (seconds, 1 to 86400)</span>
        <input data-testid="script-timeout" type="number" min={1} max={86_400} value={timeout} onChange={(e) => setTimeoutSeconds(e.target.value)} />
      </label>
      <fieldset className="field">
        <legend>Parameters</legend>
        {parameters.map((p, i) => (
          <div key={i} className="inline-form" data-testid="script-param">
            <input aria-label={`Parameter ${i + 1} name`} data-testid="script-param-name" value={p.name} onChange={(e) => setParameters(parameters.map((q, j) => (j === i ? { ...q, name: e.target.value } : q)))} />
            <select aria-label={`Parameter ${i + 1} type`} data-testid="script-param-type" value={p.type} onChange={(e) => setParameters(parameters.map((q, j) => (j === i ? { ...q, type: e.target.value === 'number' ? 'number' : e.target.value === 'boolean' ? 'boolean' : 'string' } : q)))}>
              <option value="string">string</option>
              <option value="number">number</option>
              <option value="boolean">boolean</option>
            </select>
            <label>
              <input type="checkbox" data-testid="script-param-required" checked={p.required} onChange={(e) => setParameters(parameters.map((q, j) => (j === i ? { ...q, required: e.target.checked } : q)))} /> required
            </label>
            <button type="button" className="button small quiet" aria-label={`Remove parameter ${i + 1}`} onClick={() => setParameters(parameters.filter((_, j) => j !== i))}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="button small quiet" data-testid="script-param-add" onClick={() => setParameters([...parameters, { name: '', type: 'string', required: false }])}>
          Add parameter
        </button>
      </fieldset>
      <div className="row-actions">
        <button type="submit" className="button" data-testid="script-save" data-mutates="true" disabled={busy || !valid}>
          {creating ? 'Save script' : 'Save version'}
        </button>
        <button type="button" className="button quiet" onClick={() => void props.onDone(null)}>
          Cancel
        </button>
      </div>
      <p className="muted small">Saved versions never change; each one waits for someone else to approve it before it can run.</p>
      <ActionMessageLine message={message} testId="script-editor-message" />
    </form>
  );
}
