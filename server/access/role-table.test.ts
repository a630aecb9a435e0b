import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORG_SCOPED, Permission, Role, ROLE_PERMISSIONS } from '../../protocol/permissions';

/* docs/access-control.md is for people; these tests keep its tables equal to the code. */

const doc = readFileSync(path.join(import.meta.dirname, '../../docs/access-control.md'), 'utf8');

/** The markdown table whose header row starts with `startsWith`, as rows of trimmed cells. */
function table(startsWith: string): { header: string[]; rows: string[][] } {
  const lines = doc.split('\n');
  const start = lines.findIndex((line) => line.startsWith(startsWith));
  if (start < 0) throw new Error(`no table starting with ${startsWith} in docs/access-control.md`);
  const cells = (line: string) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim().replace(/`/g, ''));
  const body: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    body.push(cells(line));
  }
  return { header: cells(lines[start] ?? ''), rows: body };
}

describe('docs/access-control.md', () => {
  const matrix = table('| Permission | Scope |');
  const roles = matrix.header.slice(2);

  it('the role × permission table has one column per role and one row per permission', () => {
    expect([...roles].sort()).toEqual([...Role.options].sort());
    expect(matrix.rows.map((r) => r[0]).sort()).toEqual([...Permission.options].sort());
  });

  it.each(Permission.options)('the table row for %s matches ROLE_PERMISSIONS and ORG_SCOPED', (permission) => {
    const row = matrix.rows.find((r) => r[0] === permission);
    expect(row).toBeDefined();
    expect(row?.[1]).toBe(ORG_SCOPED.has(permission) ? 'org' : 'unit');
    roles.forEach((role, i) => {
      const cell = row?.[i + 2];
      expect(['✓', ''], `${permission} × ${role}: a cell is ✓ or empty`).toContain(cell);
      expect(cell === '✓', `${permission} × ${role}`).toBe(ROLE_PERMISSIONS[Role.parse(role)].has(permission));
    });
  });

  it('the permission catalog describes every permission once', () => {
    const catalog = table('| Permission | What it allows |');
    expect(catalog.rows.map((r) => r[0]).sort()).toEqual([...Permission.options].sort());
    for (const row of catalog.rows) expect(row[1]?.length, String(row[0])).toBeGreaterThan(10);
  });

  it('the roles table names every role', () => {
    expect(table('| Role | Who |').rows.map((r) => r[0]).sort()).toEqual([...Role.options].sort());
  });
});
