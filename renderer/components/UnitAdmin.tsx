import { useMemo, useState, type FormEvent } from 'react';
import { errorMessage } from '../api';
import { canAt } from '../permissions';
import { useAccessStore } from '../stores/access-store';
import { useOrgStore } from '../stores/org-store';
import { createUnit, renameUnit, setUnitActive } from '../unit-commands';
import { buildUnitTree, type UnitNode } from '../unit-tree';

/** Which inline form is open: a new unit under a parent (null: at the top) or a rename. */
type Editing = { kind: 'create'; parentId: string | null } | { kind: 'rename'; unitId: string } | null;

/**
 * The unit tree with each unit's state (read-only until activated) and, only where the user's
 * grants allow it, the controls to add, rename, activate and deactivate units.
 */
export function UnitAdmin() {
  const orgId = useOrgStore((s) => s.selectedOrgId);
  const units = useOrgStore((s) => s.units);
  const status = useOrgStore((s) => s.unitsStatus);
  const access = useAccessStore((s) => s.access);
  const tree = useMemo(() => buildUnitTree(units), [units]);
  const [editing, setEditing] = useState<Editing>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (!orgId) return null;

  const run = async (work: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      setEditing(null);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const context: RowContext = {
    orgId,
    editing,
    busy,
    canManage: (unitId) => canAt(access, 'units.manage', unitId),
    canActivate: (unitId) => canAt(access, 'units.activate', unitId),
    setEditing,
    run,
  };

  return (
    <section className="panel" aria-labelledby="units-admin-heading" data-testid="unit-admin">
      <header className="panel-header">
        <h2 id="units-admin-heading">Units</h2>
        {canAt(access, 'units.manage', null) && (
          <button
            type="button"
            className="button"
            data-testid="unit-create"
            data-mutates="true"
            disabled={busy}
            onClick={() => setEditing({ kind: 'create', parentId: null })}
          >
            Add top-level unit
          </button>
        )}
      </header>
      <p className="muted">New units are read-only: their agents report, but no job can target them until a tenant admin activates the unit.</p>
      {error && <p className="error-text" role="alert" data-testid="unit-admin-error">{error}</p>}
      {editing?.kind === 'create' && editing.parentId === null && (
        <UnitNameForm label="Name of the new top-level unit" initial="" busy={busy} onCancel={() => setEditing(null)} onSubmit={(name) => run(() => createUnit(orgId, name, null))} />
      )}
      {status === 'ready' && units.length === 0 && <p className="muted empty">This organisation has no units yet.</p>}
      <ul className="unit-admin-tree" data-testid="unit-admin-tree">
        {tree.map((node) => (
          <UnitRow key={node.unit.id} node={node} context={context} />
        ))}
      </ul>
    </section>
  );
}

interface RowContext {
  orgId: string;
  editing: Editing;
  busy: boolean;
  canManage(unitId: string): boolean;
  canActivate(unitId: string): boolean;
  setEditing(editing: Editing): void;
  run(work: () => Promise<unknown>): Promise<void>;
}

function UnitRow({ node, context }: { node: UnitNode; context: RowContext }) {
  const { unit } = node;
  const { orgId, editing, busy } = context;
  const renaming = editing?.kind === 'rename' && editing.unitId === unit.id;
  const adding = editing?.kind === 'create' && editing.parentId === unit.id;
  const manage = context.canManage(unit.id);
  const activate = context.canActivate(unit.id);
  return (
    <li>
      <div className="unit-row" data-testid="unit-row" data-unit-id={unit.id} data-read-only={unit.readOnly ? 'true' : 'false'}>
        {renaming ? (
          <UnitNameForm label={`New name for ${unit.name}`} initial={unit.name} busy={busy} onCancel={() => context.setEditing(null)} onSubmit={(name) => context.run(() => renameUnit(orgId, unit.id, name))} />
        ) : (
          <span className="unit-row-name">{unit.name}</span>
        )}
        <span className={unit.readOnly ? 'state state-read-only' : 'state state-active'} data-testid="unit-state">
          {unit.readOnly ? 'Read-only' : 'Active'}
        </span>
        <span className="row-actions">
          {activate && unit.readOnly && (
            <button type="button" className="button small" data-testid="unit-activate" data-mutates="true" aria-label={`Activate ${unit.name}`} disabled={busy} onClick={() => void context.run(() => setUnitActive(orgId, unit.id, true))}>
              Activate
            </button>
          )}
          {activate && !unit.readOnly && (
            <button type="button" className="button small" data-testid="unit-deactivate" data-mutates="true" aria-label={`Make ${unit.name} read-only`} disabled={busy} onClick={() => void context.run(() => setUnitActive(orgId, unit.id, false))}>
              Make read-only
            </button>
          )}
          {manage && !renaming && (
            <button type="button" className="button small quiet" data-testid="unit-rename" data-mutates="true" aria-label={`Rename ${unit.name}`} disabled={busy} onClick={() => context.setEditing({ kind: 'rename', unitId: unit.id })}>
              Rename
            </button>
          )}
          {manage && (
            <button type="button" className="button small quiet" data-testid="unit-add-child" data-mutates="true" aria-label={`Add a unit under ${unit.name}`} disabled={busy} onClick={() => context.setEditing({ kind: 'create', parentId: unit.id })}>
              Add sub-unit
            </button>
          )}
        </span>
      </div>
      {adding && (
        <div className="unit-row-form">
          <UnitNameForm label={`Name of the new unit under ${unit.name}`} initial="" busy={busy} onCancel={() => context.setEditing(null)} onSubmit={(name) => context.run(() => createUnit(orgId, name, unit.id))} />
        </div>
      )}
      {node.children.length > 0 && (
        <ul className="unit-admin-tree nested">
          {node.children.map((child) => (
            <UnitRow key={child.unit.id} node={child} context={context} />
          ))}
        </ul>
      )}
    </li>
  );
}

function UnitNameForm(props: { label: string; initial: string; busy: boolean; onSubmit: (name: string) => Promise<void>; onCancel: () => void }) {
  const [name, setName] = useState(props.initial);
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (name.trim()) void props.onSubmit(name.trim());
  };
  return (
    <form className="inline-form" onSubmit={submit} data-testid="unit-name-form">
      <input aria-label={props.label} data-testid="unit-name-input" value={name} maxLength={200} autoFocus onChange={(e) => setName(e.target.value)} />
      <button type="submit" className="button small" data-testid="unit-name-save" data-mutates="true" disabled={props.busy || !name.trim()}>
        Save
      </button>
      <button type="button" className="button small quiet" onClick={props.onCancel}>
        Cancel
      </button>
    </form>
  );
}
