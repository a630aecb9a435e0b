import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fixtures from '../../main/test-support/console-fixtures';
import { AUDIT_ENTRIES, JANE_GRANT_ID, JANES_NOTE_ID, MY_SCRIPT_ID, createFakeConsoleBackend, type FakeConsoleBackend } from '../../main/test-support/fake-console-backend';
import { MUTATING_CONTROL_TEST_IDS } from '../../renderer/mutating-controls';
import { chromiumSkipReason, launchChromium } from '../testing/chromium';
import { firstOrgOpen, mutatingControls, openFakeConsole } from './fake-console-page';
import type { BrowserHost } from './index';

/*
 * The access, workspace and audit screens of the built renderer in Chromium, over the in-memory
 * fake backend: an MSP admin works every control; a viewer sees not one mutating control.
 * Needs `npx vite build --config renderer/vite.config.ts` first.
 */

const rendererDir = fileURLToPath(new URL('../../dist/renderer', import.meta.url));
const skipReason = chromiumSkipReason(rendererDir);
if (skipReason) console.warn(`skipping admin screens browser test: ${skipReason}`);

async function openConsole(browser: Browser, backend: FakeConsoleBackend): Promise<{ page: Page; host: BrowserHost; problems: string[] }> {
  const { page, host, problems } = await openFakeConsole(browser, backend, { rendererDir });
  await firstOrgOpen(page);
  return { page, host, problems };
}

describe.skipIf(skipReason !== undefined)('access, workspace and audit screens in Chromium', () => {
  let browser: Browser;
  const hosts: BrowserHost[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(hosts.map((host) => host.close()));
  });

  it('lets an MSP admin manage units, members, grants, the workspace and the audit log', async () => {
    const backend = createFakeConsoleBackend({ role: 'admin', exportStepMs: 120 });
    const { page, host, problems } = await openConsole(browser, backend);
    hosts.push(host);
    const seen = new Set<string>();
    const collect = async (): Promise<void> => {
      for (const id of await mutatingControls(page)) seen.add(id);
    };
    await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain('Morgan Admin');

    // Units: activate the read-only front desk, add a unit below the exam rooms, rename it.
    await page.getByTestId('view-units').click();
    const frontDesk = page.locator(`[data-testid="unit-row"][data-unit-id="${fixtures.FRONT_DESK_UNIT_ID}"]`);
    expect(await frontDesk.getAttribute('data-read-only')).toBe('true');
    await collect();
    await page.getByRole('button', { name: 'Activate Front desk' }).click();
    await expect.poll(() => frontDesk.getAttribute('data-read-only')).toBe('false');
    expect(await frontDesk.getByTestId('unit-state').textContent()).toBe('Active');
    await collect();
    await page.getByRole('button', { name: 'Add a unit under Exam rooms' }).click();
    await page.getByLabel('Name of the new unit under Exam rooms').fill('Exam room 3');
    await collect();
    await page.getByTestId('unit-name-save').click();
    const newUnit = page.getByTestId('unit-row').filter({ hasText: 'Exam room 3' });
    await newUnit.waitFor();
    expect(await newUnit.getAttribute('data-read-only')).toBe('true');
    await newUnit.getByTestId('unit-rename').click();
    await page.getByLabel('New name for Exam room 3').fill('Exam room 03');
    await page.getByTestId('unit-name-save').click();
    await page.getByTestId('unit-row').filter({ hasText: 'Exam room 03' }).waitFor();
    expect(backend.changes).toEqual(['units.activate', 'units.create', 'units.rename']);
    // The sidebar tree follows: the new unit is there, read-only.
    expect(await page.getByTestId('unit-item').filter({ hasText: 'Exam room 03' }).textContent()).toContain('read-only');

    // Users and grants: add a member, grant them tech on the exam rooms, revoke Jane's grant.
    await page.getByTestId('view-people').click();
    await page.getByTestId('user-row').first().waitFor();
    await collect();
    await page.getByTestId('user-name-input').fill('Sam Locum');
    await page.getByTestId('user-email-input').fill('sam@lakeside.example');
    await page.getByTestId('user-add').click();
    const sam = page.getByTestId('user-row').filter({ hasText: 'Sam Locum' });
    await sam.waitFor();
    await page.getByTestId('grant-user').selectOption({ label: 'Sam Locum (sam@lakeside.example)' });
    await page.getByTestId('grant-role').selectOption('tech');
    await page.getByTestId('grant-unit').selectOption({ label: 'Lakeside › Exam rooms' });
    await page.getByTestId('grant-create').click();
    await expect.poll(() => sam.getByTestId('grant-row').textContent()).toContain('Technician · Lakeside › Exam rooms');
    expect(await sam.getByTestId('grant-row').getAttribute('data-unit-id')).toBe(fixtures.CLINIC_UNIT_ID);
    await page.getByRole('button', { name: 'Revoke Technician on Lakeside › Exam rooms from Jane Tech' }).click();
    await expect.poll(() => page.locator(`[data-grant-id="${JANE_GRANT_ID}"]`).count()).toBe(0);
    await collect();

    // Workspace: unshare and reshare the script, create, edit and delete a note, read Jane's note.
    await page.getByTestId('view-workspace').click();
    await page.locator(`[data-testid="workspace-item"][data-item-id="${MY_SCRIPT_ID}"]`).click();
    const shares = page.getByTestId('workspace-share-row');
    await expect.poll(() => shares.textContent()).toBe('Lakeside › Exam roomsUnshare');
    await collect();
    await page.getByRole('button', { name: 'Stop sharing with Lakeside › Exam rooms' }).click();
    await page.getByTestId('workspace-not-shared').waitFor();
    await page.getByTestId('workspace-share-unit').selectOption({ label: 'Lakeside › Front desk' });
    await page.getByTestId('workspace-share').click();
    await expect.poll(() => shares.getAttribute('data-unit-id')).toBe(fixtures.FRONT_DESK_UNIT_ID);
    await page.getByTestId('workspace-new-note').click();
    await page.getByTestId('workspace-title').fill('Badge reader reset');
    await page.getByTestId('workspace-body').fill('Hold the reset button for ten seconds.');
    await page.getByTestId('workspace-save').click();
    const note = page.getByTestId('workspace-item').filter({ hasText: 'Badge reader reset' });
    await note.waitFor();
    await expect.poll(() => page.getByTestId('workspace-editor').getAttribute('data-item-id')).not.toBe('');
    await page.getByTestId('workspace-title').fill('Badge reader: reset');
    await page.getByTestId('workspace-save').click();
    await page.getByTestId('workspace-item').filter({ hasText: 'Badge reader: reset' }).waitFor();
    await collect();
    await page.getByRole('button', { name: 'Delete Badge reader: reset' }).click();
    await expect.poll(() => page.getByTestId('workspace-item').count()).toBe(1);
    const janes = page.locator(`[data-testid="shared-item"][data-item-id="${JANES_NOTE_ID}"]`);
    expect(await janes.textContent()).toContain('by Jane Tech · in Lakeside › Front desk');
    await janes.getByRole('button', { name: 'Front desk printer quirks' }).click();
    expect(await janes.getByTestId('shared-item-body').textContent()).toBe('Power-cycle the label printer before the spooler.');
    expect(backend.changes.slice(3)).toEqual(['users.create', 'grants.create', 'grants.revoke', 'workspace.unshare', 'workspace.share', 'workspace.create', 'workspace.update', 'workspace.delete']);

    // Audit: page through the log with older/newer, filter by action, export with progress and cancel.
    await page.getByTestId('view-audit').click();
    const rows = page.getByTestId('audit-row');
    await expect.poll(() => rows.count()).toBe(50);
    await collect();
    const total = backend.audit.length;
    expect(total).toBeGreaterThan(AUDIT_ENTRIES);
    expect(await rows.first().getAttribute('data-seq')).toBe(String(total));
    await page.getByTestId('audit-older').click();
    await expect.poll(() => rows.first().getAttribute('data-seq')).toBe(String(total - 50));
    expect(await page.getByTestId('audit-page').textContent()).toContain('Page 2');
    await page.getByTestId('audit-older').click();
    await expect.poll(() => rows.first().getAttribute('data-seq')).toBe(String(total - 100));
    await page.getByTestId('audit-newer').click();
    await expect.poll(() => rows.first().getAttribute('data-seq')).toBe(String(total - 50));
    await page.getByTestId('audit-newer').click();
    await expect.poll(() => rows.first().getAttribute('data-seq')).toBe(String(total));
    expect(await page.getByTestId('audit-newer').isDisabled()).toBe(true);

    await page.getByTestId('audit-filter-action').selectOption('grant.created');
    await page.getByTestId('audit-filter-actor').fill('Morgan Admin');
    await page.getByTestId('audit-apply').click();
    await expect.poll(async () => new Set(await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-action'))))).toEqual(new Set(['grant.created']));
    const samGrant = backend.grants.find((g) => g.unitId === fixtures.CLINIC_UNIT_ID && g.id !== JANE_GRANT_ID);
    expect(await page.locator(`[data-testid="audit-row"][data-target-id="${samGrant?.id}"]`).count()).toBe(1);
    await page.getByTestId('audit-reset').click();
    await expect.poll(() => rows.count()).toBe(50);

    await page.getByTestId('audit-export-format').selectOption('csv');
    await page.getByTestId('audit-export').click();
    const progress = page.getByTestId('audit-export-progress');
    await expect.poll(async () => Number(await progress.getAttribute('data-written'))).toBeGreaterThan(0);
    expect(await progress.getAttribute('data-state')).toBe('running');
    await page.screenshot({ path: 'test-results/console-audit-export.png' });
    await page.getByTestId('audit-export-cancel').click();
    await expect.poll(() => progress.getAttribute('data-state')).toBe('cancelled');
    await page.getByTestId('audit-export').click();
    const second = progress.nth(1);
    await expect.poll(() => second.getAttribute('data-state'), { timeout: 10_000 }).toBe('done');
    expect(await second.getByTestId('audit-export-count').textContent()).toBe(`${total} of ${total} entries`);
    expect(await second.getByTestId('audit-export-file').textContent()).toMatch(/^\/home\/tech\/exports\/audit-[0-9a-f]{8}\.csv$/);

    // Switching org enters it on the server (audited there) and shows that org's units and access.
    expect(backend.entered).toEqual([fixtures.ORG_ID]);
    await page.getByTestId('org-item').filter({ hasText: 'Maple Grove Assisted Living' }).click();
    await expect.poll(() => backend.entered).toEqual([fixtures.ORG_ID, fixtures.OTHER_ORG_ID]);
    await expect.poll(() => page.getByTestId('unit-item').count()).toBe(0);
    expect(await page.getByTestId('view-audit').getAttribute('aria-current')).toBe('page');
    await page.getByTestId('org-item').filter({ hasText: 'Lakeside Family Clinic' }).click();
    await expect.poll(() => backend.entered.length).toBe(3);
    await expect.poll(() => page.getByTestId('unit-item').count()).toBe(4);

    // Sessions (org and staff, with revoke), the org's sign-in settings, alerts (issue #4).
    for (const [tab, control] of [['view-sessions', 'staff-session-revoke'], ['view-identity', 'identity-save'], ['view-alerts', 'alert-acknowledge']] as const) {
      await page.getByTestId(tab).click();
      await page.getByTestId(control).first().waitFor();
      await collect();
    }

    // The script library (issue #5): a new script's form, a script's next version, a queued version's decision.
    await page.getByTestId('view-scripts').click();
    await page.getByTestId('script-new').click();
    await page.getByTestId('script-save').waitFor();
    await page.getByRole('button', { name: 'Clear print queue', exact: true }).click();
    await page.getByRole('button', { name: 'Review Clear print queue version 2' }).click();
    await page.getByTestId('script-approve').waitFor();
    await collect();

    // Every listed control was on screen at some point: the list the viewer test scans is real.
    expect([...seen].sort()).toEqual([...MUTATING_CONTROL_TEST_IDS].sort());
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console-admin-screens.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a viewer every screen they may read and not one mutating control', async () => {
    const backend = createFakeConsoleBackend({ role: 'viewer' });
    const { page, host, problems } = await openConsole(browser, backend);
    hosts.push(host);
    await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain('Riley viewer');
    const screens = [
      ['view-agents', 'agent-table'],
      ['view-units', 'unit-row'],
      ['view-people', 'user-row'],
      ['view-workspace', 'workspace-item'],
      ['view-audit', 'audit-row'],
      ['view-scripts', 'script-row'],
    ] as const;
    for (const [tab, content] of screens) {
      await page.getByTestId(tab).click();
      await page.getByTestId(content).first().waitFor();
      expect(await mutatingControls(page), tab).toEqual([]);
    }
    // The viewer's own script opens read-only, without share controls.
    await page.getByTestId('view-workspace').click();
    await page.getByTestId('workspace-item').first().click();
    expect(await page.getByTestId('workspace-title').getAttribute('readonly')).not.toBeNull();
    expect(await mutatingControls(page)).toEqual([]);
    expect(await page.getByTestId('settings-retention-value').count()).toBe(0); // only on the audit screen
    await page.getByTestId('view-audit').click();
    expect(await page.getByTestId('settings-retention-value').textContent()).toContain('2,192 days');
    expect(await mutatingControls(page)).toEqual([]);
    expect(backend.changes).toEqual([]);
    await page.screenshot({ path: 'test-results/console-viewer.png', fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
