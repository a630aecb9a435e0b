import { useEffect, useState } from 'react';
import type { WorkspaceItem } from '../../protocol/access';
import { canAnywhere } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useOrgStore } from '../stores/org-store';
import { useWorkspaceStore } from '../stores/workspace-store';
import { unitPath } from '../unit-tree';
import { WorkspaceEditor, type Draft } from './WorkspaceEditor';

/**
 * The signed-in user's personal workspace (invisible to everyone else unless shared into a unit)
 * and, below it, what others shared into units of the open org that the user may read.
 */
export function WorkspaceView() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const access = useAccessStore((s) => s.access);
  const items = useWorkspaceStore((s) => s.items);
  const status = useWorkspaceStore((s) => s.status);
  const error = useWorkspaceStore((s) => s.error);
  const selectedItemId = useWorkspaceStore((s) => s.selectedItemId);
  const load = useWorkspaceStore((s) => s.load);
  const loadShared = useWorkspaceStore((s) => s.loadShared);
  const select = useWorkspaceStore((s) => s.select);
  const [draft, setDraft] = useState<Draft | null>(null);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (orgId) void loadShared(orgId);
  }, [orgId, loadShared]);

  const selected = items.find((item) => item.id === selectedItemId) ?? null;
  const canWriteScripts = canAnywhere(access, 'scripts.write');
  const canWriteNotes = canAnywhere(access, 'notes.write');
  const startNew = (kind: WorkspaceItem['kind']): void => {
    select(null);
    setDraft({ kind, title: '', language: kind === 'script' ? 'bash' : null, body: '' });
  };
  const open = (itemId: string): void => {
    setDraft(null);
    select(itemId);
  };

  return (
    <section className="panel" aria-labelledby="workspace-heading" data-testid="workspace-view">
      <header className="panel-header">
        <h2 id="workspace-heading">My workspace</h2>
        <span className="row-actions">
          {canWriteScripts && (
            <button type="button" className="button" data-testid="workspace-new-script" data-mutates="true" onClick={() => startNew('script')}>
              New script
            </button>
          )}
          {canWriteNotes && (
            <button type="button" className="button" data-testid="workspace-new-note" data-mutates="true" onClick={() => startNew('note')}>
              New note
            </button>
          )}
        </span>
      </header>
      <p className="muted">Only you see these items, unless you share one into a unit.</p>
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      <div className="split">
        <ul className="item-list" data-testid="workspace-items" aria-label="My items">
          {status === 'ready' && items.length === 0 && <li className="muted">Your workspace is empty.</li>}
          {items.map((item) => (
            <li key={item.id}>
              <button
                type="button"
                className={item.id === selectedItemId && !draft ? 'nav-item selected' : 'nav-item'}
                aria-current={item.id === selectedItemId && !draft ? 'true' : undefined}
                data-testid="workspace-item"
                data-item-id={item.id}
                data-kind={item.kind}
                onClick={() => open(item.id)}
              >
                <span className="unit-name">{item.title}</span>
                <span className="tag">{item.kind === 'script' ? (item.language ?? 'script') : 'note'}</span>
                {item.shares.length > 0 && <span className="tag">shared ×{item.shares.length}</span>}
              </button>
            </li>
          ))}
        </ul>
        <div className="split-main">
          {draft && (
            <WorkspaceEditor key="new" item={null} draft={draft} canWrite={draft.kind === 'script' ? canWriteScripts : canWriteNotes} onDone={() => setDraft(null)} />
          )}
          {!draft && selected && (
            <WorkspaceEditor
              key={selected.id}
              item={selected}
              draft={{ kind: selected.kind, title: selected.title, language: selected.language, body: selected.body }}
              canWrite={selected.kind === 'script' ? canWriteScripts : canWriteNotes}
              onDone={() => undefined}
            />
          )}
          {!draft && !selected && <p className="muted empty">Select an item, or create one.</p>}
        </div>
      </div>
      <SharedIntoOrg />
    </section>
  );
}

function SharedIntoOrg() {
  const orgs = useOrgStore((s) => s.orgs);
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const units = useOrgStore((s) => s.units);
  const shared = useWorkspaceStore((s) => s.shared);
  const status = useWorkspaceStore((s) => s.sharedStatus);
  const error = useWorkspaceStore((s) => s.sharedError);
  const [openId, setOpenId] = useState<string | null>(null);
  const orgName = orgs.find((org) => org.id === orgId)?.name ?? 'this organisation';
  return (
    <section className="subpanel" aria-labelledby="shared-heading">
      <h3 id="shared-heading" className="card-heading">Shared into {orgName}</h3>
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      {status === 'ready' && shared.length === 0 && <p className="muted">Nothing has been shared into units you can see.</p>}
      <ul className="shared-list" data-testid="shared-items">
        {shared.map((item) => {
          const key = `${item.id}:${item.unitId}`;
          return (
            <li key={key} data-testid="shared-item" data-item-id={item.id} data-unit-id={item.unitId}>
              <button type="button" className="row-link" aria-expanded={openId === key} onClick={() => setOpenId(openId === key ? null : key)}>
                {item.title}
              </button>
              <span className="muted">
                {' '}
                {item.kind === 'script' ? (item.language ?? 'script') : 'note'} · by {item.ownerName} · in {unitPath(units, item.unitId)}
              </span>
              {openId === key && <pre className="code-block" data-testid="shared-item-body">{item.body}</pre>}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
