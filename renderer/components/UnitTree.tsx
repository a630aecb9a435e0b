import { useMemo } from 'react';
import { useOrgStore } from '../stores/org-store';
import { buildUnitTree, type UnitNode } from '../unit-tree';

export function UnitTree() {
  const units = useOrgStore((s) => s.units);
  const status = useOrgStore((s) => s.unitsStatus);
  const error = useOrgStore((s) => s.unitsError);
  const selectedOrgId = useOrgStore((s) => s.selectedOrgId);
  const selectedUnitId = useOrgStore((s) => s.selectedUnitId);
  const selectUnit = useOrgStore((s) => s.selectUnit);
  const tree = useMemo(() => buildUnitTree(units), [units]);

  if (!selectedOrgId) return null;
  return (
    <nav className="pane-section" aria-labelledby="units-heading">
      <h2 id="units-heading" className="section-heading">Units</h2>
      {status === 'loading' && <p className="muted">Loading…</p>}
      {status === 'error' && <p className="error-text" role="alert">{error}</p>}
      <ul className="nav-list" data-testid="unit-tree">
        <li>
          <button
            type="button"
            className={selectedUnitId === null ? 'nav-item selected' : 'nav-item'}
            aria-current={selectedUnitId === null ? 'true' : undefined}
            onClick={() => selectUnit(null)}
          >
            All units
          </button>
        </li>
        {tree.map((node) => (
          <UnitBranch key={node.unit.id} node={node} selectedUnitId={selectedUnitId} onSelect={selectUnit} />
        ))}
      </ul>
    </nav>
  );
}

function UnitBranch(props: { node: UnitNode; selectedUnitId: string | null; onSelect: (id: string) => void }) {
  const { node, selectedUnitId, onSelect } = props;
  const selected = node.unit.id === selectedUnitId;
  return (
    <li>
      <button
        type="button"
        className={selected ? 'nav-item selected' : 'nav-item'}
        aria-current={selected ? 'true' : undefined}
        data-testid="unit-item"
        onClick={() => onSelect(node.unit.id)}
      >
        <span className="unit-name">{node.unit.name}</span>
        {node.unit.readOnly && (
          <span className="tag" title="New unit: agents report, no jobs until a tenant admin activates it">
            read-only
          </span>
        )}
      </button>
      {node.children.length > 0 && (
        <ul className="nav-list nested">
          {node.children.map((child) => (
            <UnitBranch key={child.unit.id} node={child} selectedUnitId={selectedUnitId} onSelect={onSelect} />
          ))}
        </ul>
      )}
    </li>
  );
}
