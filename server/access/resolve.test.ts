import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GrantRole, ORG_SCOPED, Permission, ROLE_PERMISSIONS, type Role } from '../../protocol/permissions';
import { allows, resolveAccess, unitsAllowing, type AccessFacts, type AccessGrant, type AccessUnit, type ResolvedAccess } from './resolve';

/*
 * Permission resolution, checked two ways: property tests over random unit forests and grant
 * sets against a deliberately naive model written here, and exhaustive examples per role and
 * permission straight from ROLE_PERMISSIONS.
 */

const ALL = Permission.options;
const unitScoped = (role: GrantRole): Set<Permission> => new Set([...ROLE_PERMISSIONS[role]].filter((p) => !ORG_SCOPED.has(p)));

/** A forest: unit i's parent is null or an earlier unit, so there are no cycles; any depth. */
const forest: fc.Arbitrary<AccessUnit[]> = fc
  .array(fc.option(fc.nat(), { nil: null }), { maxLength: 14 })
  .chain((parents) => {
    const units = parents.map((p, i) => ({ id: `u${i}`, parentId: p === null || i === 0 ? null : `u${p % i}` }));
    return fc.shuffledSubarray(units, { minLength: units.length, maxLength: units.length });
  });

/** Any parent links at all: cycles, self-parents, parents that are not in the list. */
const tangle: fc.Arbitrary<AccessUnit[]> = fc.integer({ min: 1, max: 10 }).chain((n) =>
  fc.tuple(...Array.from({ length: n }, () => fc.option(fc.integer({ min: 0, max: n + 1 }), { nil: null }))).map((parents) =>
    parents.map((p, i) => ({ id: `u${i}`, parentId: p === null ? null : p >= n ? `ghost${p}` : `u${p}` })),
  ),
);

const grantsOn = (units: AccessUnit[], maxLength = 6): fc.Arbitrary<AccessGrant[]> =>
  fc.array(
    fc.record({
      role: fc.constantFrom(...GrantRole.options),
      unitId: units.length === 0 ? fc.constant(null) : fc.option(fc.constantFrom(...units.map((u) => u.id)), { nil: null }),
    }),
    { maxLength },
  );

const factsOf = (units: fc.Arbitrary<AccessUnit[]>): fc.Arbitrary<AccessFacts> =>
  units.chain((us) => grantsOn(us).map((grants) => ({ platformAdmin: false, grants, units: us })));

/** Naive model: is `ancestor` the unit itself or reachable by following parents from `unit`? */
function isSelfOrBelow(units: readonly AccessUnit[], unit: string, ancestor: string): boolean {
  const parentOf = new Map(units.map((u) => [u.id, u.parentId]));
  const visited = new Set<string>();
  let current: string | null | undefined = unit;
  while (current !== null && current !== undefined && !visited.has(current)) {
    if (current === ancestor) return true;
    visited.add(current);
    current = parentOf.get(current);
  }
  return false;
}

function modelUnit(facts: AccessFacts, unit: string): Set<Permission> {
  const result = new Set<Permission>();
  for (const grant of facts.grants) {
    if (grant.unitId === null || isSelfOrBelow(facts.units, unit, grant.unitId)) for (const p of unitScoped(grant.role)) result.add(p);
  }
  return result;
}

function modelOrg(facts: AccessFacts): Set<Permission> {
  const result = new Set<Permission>();
  for (const grant of facts.grants) {
    result.add('org.read');
    if (grant.unitId === null) for (const p of ROLE_PERMISSIONS[grant.role]) result.add(p);
  }
  return result;
}

const sorted = (set: ReadonlySet<Permission> | undefined) => [...(set ?? [])].sort();
const subset = (a: ReadonlySet<Permission> | undefined, b: ReadonlySet<Permission> | undefined) => [...(a ?? [])].every((p) => b?.has(p) ?? false);
const snapshot = (access: ResolvedAccess) => ({
  org: sorted(access.org),
  units: Object.fromEntries([...access.units].map(([id, set]) => [id, sorted(set)]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
});

describe('resolveAccess over random unit forests and grants', () => {
  it('every unit gets exactly the unit-scoped permissions of the grants at it, above it, or at the root', () => {
    fc.assert(fc.property(factsOf(forest), (facts) => {
      const access = resolveAccess(facts);
      expect([...access.units.keys()].sort()).toEqual(facts.units.map((u) => u.id).sort());
      for (const unit of facts.units) expect(sorted(access.units.get(unit.id)), unit.id).toEqual(sorted(modelUnit(facts, unit.id)));
      expect(sorted(access.org)).toEqual(sorted(modelOrg(facts)));
    }), { numRuns: 400 });
  });

  it('a single grant at a unit covers that unit and its descendants, and nothing else', () => {
    const oneGrant = forest.filter((us) => us.length > 0).chain((units) =>
      fc.record({ role: fc.constantFrom(...GrantRole.options), unitId: fc.constantFrom(...units.map((u) => u.id)) }).map((grant) => ({ units, grant })),
    );
    fc.assert(fc.property(oneGrant, ({ units, grant }) => {
      const access = resolveAccess({ platformAdmin: false, grants: [grant], units });
      for (const unit of units) {
        const below = isSelfOrBelow(units, unit.id, grant.unitId);
        expect(sorted(access.units.get(unit.id)), unit.id).toEqual(below ? sorted(unitScoped(grant.role)) : []);
      }
      expect(sorted(access.org)).toEqual(['org.read']);
    }), { numRuns: 300 });
  });

  it('org-scoped permissions come only from grants at the org root, and never sit on a unit', () => {
    fc.assert(fc.property(factsOf(forest), (facts) => {
      const access = resolveAccess(facts);
      const fromRoot = new Set(facts.grants.filter((g) => g.unitId === null).flatMap((g) => [...ROLE_PERMISSIONS[g.role]].filter((p) => ORG_SCOPED.has(p))));
      expect(sorted(new Set([...access.org].filter((p) => ORG_SCOPED.has(p))))).toEqual(sorted(fromRoot));
      for (const [id, set] of access.units) expect([...set].filter((p) => ORG_SCOPED.has(p)), id).toEqual([]);
    }), { numRuns: 300 });
  });

  it('a platform admin holds every permission at the org and on every unit, whatever their grants', () => {
    fc.assert(fc.property(factsOf(fc.oneof(forest, tangle)), (facts) => {
      const access = resolveAccess({ ...facts, platformAdmin: true });
      expect(sorted(access.org)).toEqual([...ALL].sort());
      for (const unit of facts.units) expect(sorted(access.units.get(unit.id))).toEqual([...ALL].sort());
    }), { numRuns: 200 });
  });

  it('adding a grant never takes a permission away', () => {
    const withExtra = forest.chain((units) => fc.tuple(grantsOn(units), grantsOn(units, 1).filter((g) => g.length === 1)).map(([grants, [extra]]) => ({ units, grants, extra })));
    fc.assert(fc.property(withExtra, ({ units, grants, extra }) => {
      if (!extra) return;
      const before = resolveAccess({ platformAdmin: false, grants, units });
      const after = resolveAccess({ platformAdmin: false, grants: [...grants, extra], units });
      expect(subset(before.org, after.org)).toBe(true);
      for (const unit of units) expect(subset(before.units.get(unit.id), after.units.get(unit.id)), unit.id).toBe(true);
      // …and the extra grant's own permissions are there afterwards
      if (extra.unitId === null) expect(subset(ROLE_PERMISSIONS[extra.role], after.org)).toBe(true);
      else expect(subset(unitScoped(extra.role), after.units.get(extra.unitId))).toBe(true);
    }), { numRuns: 300 });
  });

  it('org.read is held at the org level exactly when there is any grant', () => {
    fc.assert(fc.property(factsOf(forest), (facts) => {
      expect(resolveAccess(facts).org.has('org.read')).toBe(facts.grants.length > 0);
    }), { numRuns: 300 });
  });

  it('a unit with any permission also has org.read (a member who acts somewhere can see the tree)', () => {
    fc.assert(fc.property(factsOf(forest), (facts) => {
      for (const [id, set] of resolveAccess(facts).units) if (set.size > 0) expect(set.has('org.read'), id).toBe(true);
    }), { numRuns: 200 });
  });

  it('the answer does not depend on the order of grants or units', () => {
    const shuffled = factsOf(forest).chain((facts) =>
      fc.tuple(
        fc.shuffledSubarray([...facts.grants], { minLength: facts.grants.length, maxLength: facts.grants.length }),
        fc.shuffledSubarray([...facts.units], { minLength: facts.units.length, maxLength: facts.units.length }),
      ).map(([grants, units]) => ({ facts, reordered: { platformAdmin: false, grants, units } })),
    );
    fc.assert(fc.property(shuffled, ({ facts, reordered }) => {
      expect(snapshot(resolveAccess(reordered))).toEqual(snapshot(resolveAccess(facts)));
    }), { numRuns: 300 });
  });

  it('cycles, self-parents and dangling parents end the walk instead of hanging, and still follow the links that exist', () => {
    fc.assert(fc.property(factsOf(tangle), (facts) => {
      const started = performance.now();
      const access = resolveAccess(facts);
      expect(performance.now() - started).toBeLessThan(1000);
      for (const unit of facts.units) expect(sorted(access.units.get(unit.id)), unit.id).toEqual(sorted(modelUnit(facts, unit.id)));
    }), { numRuns: 300 });
  });

  it('allows and unitsAllowing agree with the resolved sets', () => {
    fc.assert(fc.property(factsOf(forest), fc.constantFrom(...ALL), (facts, permission) => {
      const access = resolveAccess(facts);
      expect(allows(access, permission, null)).toBe(access.org.has(permission));
      const expected = facts.units.filter((u) => access.units.get(u.id)?.has(permission)).map((u) => u.id).sort();
      expect([...unitsAllowing(access, permission)].sort()).toEqual(expected);
      for (const unit of facts.units) expect(allows(access, permission, unit.id)).toBe(expected.includes(unit.id));
      expect(allows(access, permission, 'not-a-unit-of-this-org')).toBe(false);
    }), { numRuns: 200 });
  });
});

describe('each role, permission by permission', () => {
  // site ── ward ── bed; annex is a sibling of site
  const units: AccessUnit[] = [
    { id: 'site', parentId: null },
    { id: 'ward', parentId: 'site' },
    { id: 'bed', parentId: 'ward' },
    { id: 'annex', parentId: null },
  ];
  const cases = GrantRole.options.flatMap((role) => ALL.map((permission) => [role, permission] as const));

  it.each(cases)('%s granted at the org root: %s', (role, permission) => {
    const access = resolveAccess({ platformAdmin: false, grants: [{ role, unitId: null }], units });
    const held = ROLE_PERMISSIONS[role].has(permission);
    expect(allows(access, permission, null)).toBe(held);
    for (const unit of units) expect(allows(access, permission, unit.id), unit.id).toBe(held && !ORG_SCOPED.has(permission));
  });

  it.each(cases)('%s granted at a site: %s', (role, permission) => {
    const access = resolveAccess({ platformAdmin: false, grants: [{ role, unitId: 'site' }], units });
    const onUnits = ROLE_PERMISSIONS[role].has(permission) && !ORG_SCOPED.has(permission);
    for (const unit of ['site', 'ward', 'bed']) expect(allows(access, permission, unit), unit).toBe(onUnits);
    expect(allows(access, permission, 'annex')).toBe(false);
    expect(allows(access, permission, null)).toBe(permission === 'org.read');
  });

  it.each(ALL)('admin (platform): %s everywhere, with no grants', (permission) => {
    const access = resolveAccess({ platformAdmin: true, grants: [], units });
    expect(allows(access, permission, null)).toBe(true);
    for (const unit of units) expect(allows(access, permission, unit.id)).toBe(true);
  });

  it('no grants: nothing at all', () => {
    const access = resolveAccess({ platformAdmin: false, grants: [], units });
    expect(access.org.size).toBe(0);
    for (const unit of units) expect(access.units.get(unit.id)?.size).toBe(0);
  });

  it('the catalog’s roles are what the documentation promises', () => {
    const roles: Role[] = ['admin', ...GrantRole.options];
    for (const role of roles) expect(ROLE_PERMISSIONS[role].has('org.read'), role).toBe(true);
    expect(sorted(ROLE_PERMISSIONS.admin)).toEqual([...ALL].sort());
    expect(sorted(ROLE_PERMISSIONS.tenant_admin)).toEqual([...ALL].sort());
    expect(sorted(ROLE_PERMISSIONS.provisioning)).toEqual(['agents.register', 'enrolment.create', 'org.read']);
    // A viewer changes nothing.
    const mutating = /\.(write|create|manage|activate|approve|register|reveal|revoke|share|request|review|settings|export)$/;
    expect([...ROLE_PERMISSIONS.viewer].filter((p) => mutating.test(p) || p === 'org.settings')).toEqual([]);
    // A tech cannot change who may do what, approve scripts, or review a break-glass.
    for (const p of ['grants.manage', 'units.manage', 'units.activate', 'scripts.approve', 'breakglass.review', 'audit.read'] as const) {
      expect(ROLE_PERMISSIONS.tech.has(p), p).toBe(false);
    }
  });
});
