import type { Unit } from '../protocol/api';

export interface UnitNode {
  unit: Unit;
  children: UnitNode[];
}

/** Builds the unit forest from parentId links; orphans (parent not visible) become roots. */
export function buildUnitTree(units: readonly Unit[]): UnitNode[] {
  const nodes = new Map<string, UnitNode>(units.map((unit) => [unit.id, { unit, children: [] }]));
  const roots: UnitNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.unit.parentId ? nodes.get(node.unit.parentId) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byName = (a: UnitNode, b: UnitNode): number => a.unit.name.localeCompare(b.unit.name);
  const sort = (list: UnitNode[]): void => {
    list.sort(byName);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}

/** A unit and everything below it: grants inherit down the tree, so the list does too. */
export function unitWithDescendants(units: readonly Unit[], unitId: string): Set<string> {
  const result = new Set<string>([unitId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const unit of units) {
      if (unit.parentId && result.has(unit.parentId) && !result.has(unit.id)) {
        result.add(unit.id);
        grew = true;
      }
    }
  }
  return result;
}

/** "Site › Building › Room": the unit's name after its ancestors', for pickers and grant lists. */
export function unitPath(units: readonly Unit[], unitId: string): string {
  const byId = new Map(units.map((unit) => [unit.id, unit]));
  const names: string[] = [];
  const seen = new Set<string>();
  let current = byId.get(unitId);
  while (current && !seen.has(current.id)) {
    seen.add(current.id);
    names.unshift(current.name);
    current = current.parentId ? byId.get(current.parentId) : undefined;
  }
  return names.length > 0 ? names.join(' › ') : 'unknown unit';
}

/** Units in tree order (parents before children, siblings by name), for pickers. */
export function unitsInTreeOrder(units: readonly Unit[]): Unit[] {
  const ordered: Unit[] = [];
  const walk = (nodes: UnitNode[]): void => {
    for (const node of nodes) {
      ordered.push(node.unit);
      walk(node.children);
    }
  };
  walk(buildUnitTree(units));
  return ordered;
}
