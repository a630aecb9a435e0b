import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TOTP_CODE,
  MAP_DRIVE_SCRIPT_ID,
  PRINT_QUEUE_SCRIPT_ID,
  createFakeConsoleBackend,
  type FakeBackendOptions,
  type FakeConsoleBackend,
} from '../../main/test-support/fake-console-backend';
import { chromiumSkipReason, launchChromium } from '../testing/chromium';
import { firstOrgOpen, mutatingControls, openFakeConsole } from './fake-console-page';
import type { BrowserHost } from './index';

/*
 * The script library screens of issue #5 (docs/scripts.md) in Chromium over the fake backend:
 * the library list, creating a script and its next version, the approval queue with its line
 * diff, approving and rejecting another user's version with a reason through the step-up dialog,
 * the author refused in words (own_script), and a viewer who reads it all without one control.
 * Needs `npx vite build --config renderer/vite.config.ts` first.
 */

const rendererDir = fileURLToPath(new URL('../../dist/renderer', import.meta.url));
const skipReason = chromiumSkipReason(rendererDir);
if (skipReason) console.warn(`skipping script screens browser test: ${skipReason}`);

interface Console {
  page: Page;
  context: BrowserContext;
  backend: FakeConsoleBackend;
  problems: string[];
}

describe.skipIf(skipReason !== undefined)('script library screens in Chromium', () => {
  let browser: Browser;
  const hosts: BrowserHost[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    mkdirSync('test-results', { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(hosts.map((host) => host.close()));
  });

  async function open(options: FakeBackendOptions): Promise<Console> {
    const backend = createFakeConsoleBackend(options);
    const { page, context, host, problems } = await openFakeConsole(browser, backend, { rendererDir, viewport: { width: 1440, height: 1000 } });
    hosts.push(host);
    await firstOrgOpen(page);
    await page.getByTestId('view-scripts').click();
    await page.getByTestId('script-row').first().waitFor();
    return { page, context, backend, problems };
  }

  const row = (page: Page, scriptId: string) => page.locator(`[data-testid="script-row"][data-script-id="${scriptId}"]`);
  const diffLines = (page: Page) =>
    page.getByTestId('diff-line').evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute('data-kind') ?? ''}:${(n.textContent ?? '').slice(2)}`));

  async function stepUp(page: Page): Promise<void> {
    await expect.poll(() => page.getByTestId('step-up-dialog').getAttribute('data-action')).toBe('scripts.approve');
    await page.getByTestId('step-up-code').fill(FAKE_TOTP_CODE);
    await page.getByTestId('step-up-submit').click();
  }

  it("lists the library and approves and rejects other people's versions from the queue, with a diff, a reason and step-up", async () => {
    const { page, context, backend, problems } = await open({ role: 'admin', stepUp: true });
    const printQueue = row(page, PRINT_QUEUE_SCRIPT_ID);
    expect(await printQueue.getByTestId('script-language').textContent()).toBe('powershell');
    expect(await printQueue.getByTestId('script-latest').textContent()).toBe('v2 (approved: v1)');
    expect(await printQueue.getByTestId('script-pending').textContent()).toBe('1');
    expect(await printQueue.textContent()).toContain('Whole organisation');
    expect(await row(page, MAP_DRIVE_SCRIPT_ID).textContent()).toContain('Lakeside › Exam rooms');
    const queue = page.getByTestId('script-queue-row');
    await expect.poll(() => queue.count()).toBe(2);

    // Jane's version 2 against version 1: what changed, line by line.
    await page.getByRole('button', { name: 'Review Clear print queue version 2' }).click();
    expect(await diffLines(page)).toEqual([
      'removed:Stop-Service -Name Spooler',
      'added:Stop-Service -Name Spooler -Force',
      'same:Remove-Item C:\\Windows\\System32\\spool\\PRINTERS\\*',
      'same:Start-Service -Name Spooler',
      'added:Get-Service -Name Spooler',
    ]);
    expect(await page.getByTestId('script-review-facts').textContent()).toContain('Changes from version 1 (approved)');
    expect(await page.getByTestId('script-review-settings').textContent()).toBe('Timeout 120 s · Parameters: none');
    // No reason, no decision.
    expect(await page.getByTestId('script-approve').isDisabled()).toBe(true);
    expect(await page.getByTestId('script-reject').isDisabled()).toBe(true);
    await page.getByTestId('script-decision-reason').fill('   ');
    expect(await page.getByTestId('script-approve').isDisabled()).toBe(true);
    await page.getByTestId('script-decision-reason').fill('Force is needed when jobs hang');
    await page.screenshot({ path: 'test-results/console-script-review.png', fullPage: true });
    await page.getByTestId('script-approve').click();
    await stepUp(page);
    await expect.poll(() => page.getByTestId('script-decision-message').textContent()).toBe('Version 2 approved.');
    await expect.poll(() => printQueue.getByTestId('script-pending').textContent()).toBe('0');
    expect(await printQueue.getByTestId('script-latest').textContent()).toBe('v2');
    await expect.poll(() => queue.count()).toBe(1);

    // Pat's first version: every line is new; rejected with a reason, step-up asked again.
    await page.getByRole('button', { name: 'Review Map shared drive version 1' }).click();
    expect(await page.getByTestId('script-review-facts').textContent()).toContain('First version: every line is new');
    expect(await diffLines(page)).toEqual(['added:New-PSDrive -Name S -PSProvider FileSystem -Root \\\\files\\shared -Persist']);
    expect(await page.getByTestId('script-reject').isDisabled()).toBe(true);
    await page.getByTestId('script-decision-reason').fill('Use the GPO drive map instead');
    await page.getByTestId('script-reject').click();
    await stepUp(page);
    await expect.poll(() => page.getByTestId('script-decision-message').textContent()).toBe('Version 1 rejected.');
    await expect.poll(() => queue.count()).toBe(0);
    expect(backend.changes).toEqual(['scripts.approve', 'scripts.reject']);
    expect(backend.stepUps).toEqual(['scripts.approve', 'scripts.approve']);

    // The decisions show on each script's versions: who and why.
    await row(page, MAP_DRIVE_SCRIPT_ID).getByRole('button', { name: 'Map shared drive', exact: true }).click();
    const v1 = page.locator('[data-testid="script-version-row"][data-version="1"]');
    expect(await v1.getAttribute('data-status')).toBe('rejected');
    expect(await v1.getByTestId('script-version-decision').textContent()).toBe('Morgan Admin: Use the GPO drive map instead');
    const audit = backend.audit.slice(-2).map((e) => [e.action, e.details.reason]);
    expect(audit).toEqual([['script.approved', 'Force is needed when jobs hang'], ['script.rejected', 'Use the GPO drive map instead']]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('creates a script and a new version; its author is refused in words and the version stays pending', async () => {
    const { page, context, backend, problems } = await open({ role: 'admin', stepUp: true });
    await page.getByTestId('script-new').click();
    await page.getByTestId('script-name').fill('Flush DNS');
    await page.getByTestId('script-language-input').selectOption('powershell');
    await page.getByTestId('script-unit').selectOption({ label: 'Lakeside › Exam rooms' });
    await page.getByTestId('script-body').fill('ipconfig /flushdns');
    await page.getByTestId('script-timeout').fill('0');
    expect(await page.getByTestId('script-save').isDisabled()).toBe(true); // timeout out of range
    await page.getByTestId('script-timeout').fill('60');
    await page.getByTestId('script-param-add').click();
    expect(await page.getByTestId('script-save').isDisabled()).toBe(true); // a parameter needs a name
    await page.getByTestId('script-param-name').fill('Verbose');
    await page.getByTestId('script-param-type').selectOption('boolean');
    await page.getByTestId('script-save').click();

    const flush = page.getByTestId('script-row').filter({ hasText: 'Flush DNS' });
    await flush.waitFor();
    expect(await flush.getByTestId('script-latest').textContent()).toBe('v1 (none approved)');
    expect(await flush.getByTestId('script-pending').textContent()).toBe('1');
    const created = backend.scripts.find((d) => d.script.name === 'Flush DNS');
    expect(created?.script.unitId).not.toBeNull();
    expect(created?.versions[0]?.parameters).toEqual([{ name: 'Verbose', type: 'boolean', required: false }]);
    expect(created?.versions[0]?.timeoutSeconds).toBe(60);
    const detail = page.getByTestId('script-detail');
    await expect.poll(() => detail.getAttribute('data-script-id')).toBe(created?.script.id);
    const hash = detail.locator('[data-version="1"]').getByTestId('script-version-hash');
    expect(await hash.textContent()).toBe(created?.versions[0]?.sha256.slice(0, 12));
    expect(await detail.locator('[data-version="1"]').textContent()).toContain('Morgan Admin');
    // Not in the author's own queue.
    expect(await page.locator(`[data-testid="script-queue-row"][data-script-id="${created?.script.id}"]`).count()).toBe(0);

    // The next version starts from the latest one.
    await page.getByTestId('script-new-version').click();
    expect(await page.getByTestId('script-body').inputValue()).toBe('ipconfig /flushdns');
    expect(await page.getByTestId('script-param-name').inputValue()).toBe('Verbose');
    expect(await page.getByTestId('script-timeout').inputValue()).toBe('60');
    await page.getByTestId('script-body').fill('ipconfig /flushdns\nipconfig /registerdns');
    await page.getByTestId('script-timeout').fill('90');
    await page.getByTestId('script-save').click();
    await expect.poll(() => flush.getByTestId('script-pending').textContent()).toBe('2');
    expect(await flush.getByTestId('script-latest').textContent()).toBe('v2 (none approved)');
    expect(await page.getByTestId('script-version-row').count()).toBe(2);

    // The author tries to approve their own version: past step-up, the server refuses, said in words.
    await detail.getByRole('button', { name: 'Review version 2' }).click();
    expect(await diffLines(page)).toEqual(['same:ipconfig /flushdns', 'added:ipconfig /registerdns']);
    expect(await page.getByTestId('script-review-settings').textContent()).toBe('Timeout 90 s (was 60 s) · Parameters: Verbose (boolean)');
    await page.getByTestId('script-decision-reason').fill('Looks right to me');
    await page.getByTestId('script-approve').click();
    await stepUp(page);
    const refused = page.getByTestId('script-decision-message');
    await expect.poll(() => refused.textContent()).toBe('You wrote this version, so you cannot approve or reject it: someone else with the scripts.approve permission must.');
    expect(await refused.getAttribute('role')).toBe('alert');
    expect(await detail.locator('[data-version="2"]').getAttribute('data-status')).toBe('pending');
    expect(backend.changes).toEqual(['scripts.create', 'scripts.addVersion']);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows a viewer the library, versions and hashes read-only: no queue, no review, no mutating control', async () => {
    const { page, context, backend, problems } = await open({ role: 'viewer' });
    expect(await page.getByTestId('script-row').count()).toBe(2);
    expect(await page.getByTestId('script-queue').count()).toBe(0);
    expect(await mutatingControls(page)).toEqual([]);
    await row(page, PRINT_QUEUE_SCRIPT_ID).getByRole('button', { name: 'Clear print queue', exact: true }).click();
    await expect.poll(() => page.getByTestId('script-version-row').count()).toBe(2);
    expect(await page.locator('[data-testid="script-version-row"][data-version="1"]').getByTestId('script-version-decision').textContent()).toBe('Pat Newhire: Reviewed with the front desk');
    expect(await page.getByTestId('script-review').count()).toBe(0);
    expect(await mutatingControls(page)).toEqual([]);
    expect(backend.changes).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});
