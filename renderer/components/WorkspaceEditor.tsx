import { useState, type FormEvent } from 'react';
import type { WorkspaceItem } from '../../protocol/access';
import { errorMessage } from '../api';
import { unitsWhere } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useOrgStore } from '../stores/org-store';
import { useWorkspaceStore } from '../stores/workspace-store';
import { ActionMessageLine, useAction } from './use-action';
import { unitPath, unitsInTreeOrder } from '../unit-tree';

export interface Draft {
  kind: WorkspaceItem['kind'];
  title: string;
  language: WorkspaceItem['language'];
  body: string;
}

const LANGUAGES = ['bash', 'powershell', 'python', 'node'] as const;
type Language = (typeof LANGUAGES)[number];
const isLanguage = (value: string): value is Language => (LANGUAGES as readonly string[]).includes(value);

/** Edits one item (or a new one when `item` is null), and shows and changes where it is shared. */
export function WorkspaceEditor(props: { item: WorkspaceItem | null; draft: Draft; canWrite: boolean; onDone: () => void }) {
  const { item, canWrite } = props;
  const create = useWorkspaceStore((s) => s.create);
  const update = useWorkspaceStore((s) => s.update);
  const remove = useWorkspaceStore((s) => s.remove);
  const [draft, setDraft] = useState<Draft>(props.draft);
  const { busy, message, run } = useAction();

  const save = (event: FormEvent): void => {
    event.preventDefault();
    if (!canWrite) return;
    if (item) {
      void run(() => update(item.id, { title: draft.title.trim(), body: draft.body }), () => 'Saved.');
      return;
    }
    const request =
      draft.kind === 'script'
        ? { kind: 'script' as const, title: draft.title.trim(), language: draft.language ?? 'bash', body: draft.body }
        : { kind: 'note' as const, title: draft.title.trim(), body: draft.body };
    void run(async () => {
      await create(request);
      props.onDone();
    }, () => 'Created.');
  };

  return (
    <div className="editor" data-testid="workspace-editor" data-item-id={item?.id ?? ''}>
      <form onSubmit={save}>
        <label className="field">
          <span>Title</span>
          <input data-testid="workspace-title" value={draft.title} maxLength={200} readOnly={!canWrite} required onChange={(e) => setDraft({ ...draft, title: e.target.value })} />
        </label>
        {draft.kind === 'script' && (
          <label className="field">
            <span>Language</span>
            <select
              data-testid="workspace-language"
              value={draft.language ?? 'bash'}
              disabled={!canWrite || item !== null}
              onChange={(e) => isLanguage(e.target.value) && setDraft({ ...draft, language: e.target.value })}
            >
              {LANGUAGES.map((language) => (
                <option key={language} value={language}>
                  {language}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field">
          <span>{draft.kind === 'script' ? 'Script' : 'Note'}</span>
          <textarea data-testid="workspace-body" className={draft.kind === 'script' ? 'mono' : undefined} rows={12} value={draft.body} readOnly={!canWrite} onChange={(e) => setDraft({ ...draft, body: e.target.value })} />
        </label>
        {canWrite && (
          <div className="row-actions">
            <button type="submit" className="button" data-testid="workspace-save" data-mutates="true" disabled={busy || !draft.title.trim()}>
              {item ? 'Save' : `Create ${draft.kind}`}
            </button>
            {item && (
              <button type="button" className="button danger" data-testid="workspace-delete" data-mutates="true" aria-label={`Delete ${item.title}`} disabled={busy} onClick={() => void run(() => remove(item.id), () => 'Deleted.')}>
                Delete
              </button>
            )}
            {!item && (
              <button type="button" className="button quiet" onClick={props.onDone}>
                Cancel
              </button>
            )}
          </div>
        )}
      </form>
      <ActionMessageLine message={message} testId="workspace-message" />
      {item && <ItemShares item={item} />}
    </div>
  );
}

/** Where the item is shared (only its owner sees this), and sharing into a unit of the open org. */
function ItemShares({ item }: { item: WorkspaceItem }) {
  const orgs = useOrgStore((s) => s.orgs);
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const units = useOrgStore((s) => s.units);
  const access = useAccessStore((s) => s.access);
  const share = useWorkspaceStore((s) => s.share);
  const unshare = useWorkspaceStore((s) => s.unshare);
  const [unitId, setUnitId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const shareable = unitsWhere(access, 'workspace.share');
  const targets = unitsInTreeOrder(units).filter((unit) => shareable.has(unit.id) && !item.shares.some((s) => s.unitId === unit.id));
  const chosen = targets.some((unit) => unit.id === unitId) ? unitId : (targets[0]?.id ?? '');

  const run = async (work: () => Promise<void>): Promise<void> => {
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const where = (share: WorkspaceItem['shares'][number]): string =>
    share.orgId === orgId ? unitPath(units, share.unitId) : `a unit of ${orgs.find((org) => org.id === share.orgId)?.name ?? 'another organisation'}`;

  return (
    <section className="subpanel" aria-labelledby="shares-heading">
      <h3 id="shares-heading" className="card-heading">Shared with</h3>
      {item.shares.length === 0 && <p className="muted" data-testid="workspace-not-shared">Not shared: only you can see it.</p>}
      <ul className="grant-list">
        {item.shares.map((s) => (
          <li key={`${s.orgId}:${s.unitId}`} className="grant-chip" data-testid="workspace-share-row" data-unit-id={s.unitId}>
            <span>{where(s)}</span>
            {s.orgId === orgId && shareable.has(s.unitId) && (
              <button type="button" className="button small quiet" data-testid="workspace-unshare" data-mutates="true" aria-label={`Stop sharing with ${where(s)}`} onClick={() => void run(() => unshare(item.id, s.orgId, s.unitId))}>
                Unshare
              </button>
            )}
          </li>
        ))}
      </ul>
      {orgId && targets.length > 0 && (
        <div className="inline-form">
          <select aria-label="Unit to share with" data-testid="workspace-share-unit" value={chosen} onChange={(e) => setUnitId(e.target.value)}>
            {targets.map((unit) => (
              <option key={unit.id} value={unit.id}>
                {unitPath(units, unit.id)}
              </option>
            ))}
          </select>
          <button type="button" className="button small" data-testid="workspace-share" data-mutates="true" disabled={!chosen} onClick={() => void run(() => share(item.id, orgId, chosen))}>
            Share
          </button>
        </div>
      )}
      {error && <p className="error-text" role="alert" data-testid="workspace-share-error">{error}</p>}
    </section>
  );
}
