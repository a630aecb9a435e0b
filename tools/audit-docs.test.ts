import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../protocol/audit-actions';
import { auditDocPath, renderAuditDoc } from './audit-docs';

describe('docs/audit.md', () => {
  const doc = readFileSync(auditDocPath, 'utf8');

  it('names every action of the catalog', () => {
    const missing = Object.keys(AUDIT_ACTIONS).filter((action) => !doc.includes(`| \`${action}\` |`));
    expect(missing).toEqual([]);
  });

  it('carries the action table generated from the catalog (run `npm run docs:audit` after changing it)', () => {
    expect(doc).toBe(renderAuditDoc(doc));
  });
});
