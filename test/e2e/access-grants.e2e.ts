import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueApiToken } from '../../server/auth/api-token';
import { enrolTotp, totpCode } from '../../server/mfa/testing';
import { getTestServer, type TestServer } from '../../server/test-support';
import { launchChromium } from '../../tools/testing/chromium';
import {
  openConsoleAs,
  openOrg,
  requireConsolePrerequisites,
  resultsDirFor,
  saveArtifacts,
  saveFailureArtifacts,
  writeTokenFile,
  type ConsoleUnderTest,
} from './console-harness';

/*
 * A role granted at a parent unit gives access below it, through the consoles people use: an MSP
 * admin's console adds a member and grants them `tech` on a site (through the UI); the member's
 * own console (own services, own browser host, own Chromium context, signed in with the
 * member's token) then lists the agent of a unit below that site and not the agent of a sibling
 * site; the admin's audit viewer shows the grant.created entry. Real server in-process on PGlite.
 */

const resultsDir = resultsDirFor('access-grants');

describe('granting a role at a parent unit gives access below it', () => {
  let t: TestServer;
  let browser: Browser;
  let admin: ConsoleUnderTest | undefined;
  let member: ConsoleUnderTest | undefined;
  let orgId: string;
  let siteId: string;
  let childAgentId: string;
  let siblingAgentId: string;
  let siteAgentId: string;
  let memberId: string;
  let grantId: string;
  let adminTotpSecret: string;

  const theAdmin = (): ConsoleUnderTest => {
    if (!admin) throw new Error('the admin console did not open (see beforeAll)');
    return admin;
  };

  beforeAll(async () => {
    requireConsolePrerequisites();
    rmSync(resultsDir, { recursive: true, force: true });
    mkdirSync(resultsDir, { recursive: true });
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Lakeside Clinic')).id;
    siteId = (await t.buildUnit(orgId, 'Main Street Site', null)).id;
    const examId = (await t.buildUnit(orgId, 'Exam Rooms', siteId)).id;
    const annexId = (await t.buildUnit(orgId, 'Annex Site', null)).id;
    siteAgentId = (await t.buildAgent(orgId, siteId)).agentId;
    childAgentId = (await t.buildAgent(orgId, examId)).agentId;
    siblingAgentId = (await t.buildAgent(orgId, annexId)).agentId;
    await t.buildOrg('Maple Grove'); // another client the member must not see

    // Granting a role is a step-up action: the MSP admin has an authenticator app.
    adminTotpSecret = (await enrolTotp(t, readFileSync(t.server.operatorTokenFile, 'utf8').trim())).secret;

    browser = await launchChromium();
    admin = await openConsoleAs({ name: 'admin', browser, server: t.server, tokenFile: t.server.operatorTokenFile, dataDir: t.dataDir });
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await saveFailureArtifacts([admin, member], resultsDir, task.name);
  });

  afterAll(async () => {
    await member?.close();
    await admin?.close();
    await browser?.close();
    await t?.close();
  });

  it('lets the admin add a member and grant them tech on the parent site through the UI', async () => {
    const { page } = theAdmin();
    await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain('Operator');
    await openOrg(page, 'Lakeside Clinic');
    await page.getByTestId('view-people').click();

    await page.getByTestId('user-name-input').fill('Dana Member');
    await page.getByTestId('user-email-input').fill('dana@lakeside.example');
    await page.getByTestId('user-add').click();
    const row = page.getByTestId('user-row').filter({ hasText: 'Dana Member' });
    await row.waitFor();
    memberId = (await row.getAttribute('data-user-id')) ?? '';
    expect(memberId).toMatch(/^[0-9a-f-]{36}$/);

    await page.getByTestId('grant-user').selectOption({ label: 'Dana Member (dana@lakeside.example)' });
    await page.getByTestId('grant-role').selectOption('tech');
    await page.getByTestId('grant-unit').selectOption({ label: 'Main Street Site' });
    await page.getByTestId('grant-create').click();
    // The server asks for a fresh second factor; the console asks for it in place and retries.
    const stepUp = page.getByTestId('step-up-dialog');
    await stepUp.waitFor();
    expect(await stepUp.getAttribute('data-action')).toBe('grants.change');
    // The enrolment used the current 30 s step; the next one is accepted (±1) and not a replay.
    await page.getByTestId('step-up-code').fill(await totpCode(adminTotpSecret, new Date(t.server.context.clock.now().getTime() + 30_000)));
    await page.getByTestId('step-up-submit').click();
    await stepUp.waitFor({ state: 'hidden' });
    const grant = row.getByTestId('grant-row');
    await expect.poll(() => grant.textContent()).toContain('Technician · Main Street Site');
    expect(await grant.getAttribute('data-unit-id')).toBe(siteId);
    grantId = (await grant.getAttribute('data-grant-id')) ?? '';
    expect(theAdmin().problems).toEqual([]);
  });

  it("shows the member's own console the agents below the site and not the sibling site's", async () => {
    // Until Azure AD sign-in (issue #4) a person signs in with an API token issued to them.
    const { token } = await issueApiToken(t.database.db, t.server.context.clock, { userId: memberId, auditOrgId: orgId, label: 'e2e console', actor: { type: 'system' } });
    const tokenFile = writeTokenFile(t.dataDir, 'member', token);
    member = await openConsoleAs({ name: 'member', browser, server: t.server, tokenFile, dataDir: t.dataDir });
    const { page } = member;

    await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain('Dana Member');
    await openOrg(page, 'Lakeside Clinic');
    expect(await page.getByTestId('org-item').allTextContents()).toEqual(['Lakeside Clinic']);

    const rows = page.getByTestId('agent-row');
    await expect.poll(async () => (await rows.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-agent-id')))).sort()).toEqual([childAgentId, siteAgentId].sort());
    expect(await page.locator(`[data-agent-id="${siblingAgentId}"]`).count()).toBe(0);
    await page.getByTestId('unit-item').filter({ hasText: 'Exam Rooms' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-agent-id')).toBe(childAgentId);
    // The sibling site is in the tree (names are visible to members) but has no agents for them.
    await page.getByTestId('unit-item').filter({ hasText: 'Annex Site' }).click();
    await expect.poll(() => rows.count()).toBe(0);

    // A tech holds nothing at the org level: no users, grants or audit screens, and no unit controls.
    expect(await page.getByTestId('view-people').count()).toBe(0);
    expect(await page.getByTestId('view-audit').count()).toBe(0);
    await page.getByTestId('view-units').click();
    await page.getByTestId('unit-row').first().waitFor();
    expect(await page.locator('[data-mutates]').count()).toBe(0);
    await saveArtifacts(page, resultsDir, 'member-console');
    expect(member.problems).toEqual([]);
  });

  it("shows the grant in the admin's audit viewer", async () => {
    const { page } = theAdmin();
    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-filter-action').selectOption('grant.created');
    await page.getByTestId('audit-apply').click();
    const entry = page.locator(`[data-testid="audit-row"][data-action="grant.created"][data-target-id="${grantId}"]`);
    await entry.waitFor();
    expect(await entry.textContent()).toContain('Operator');
    expect(await entry.getAttribute('data-outcome')).toBe('success');
    await entry.getByRole('button', { name: /grant\.created #\d+: show details/ }).click();
    const details = page.getByTestId('audit-details');
    expect(JSON.parse((await details.locator('pre').textContent()) ?? '{}')).toEqual({ userId: memberId, role: 'tech', unitId: siteId });
    // The member's sign-in to the org is on record too.
    await page.getByTestId('audit-filter-action').selectOption('org.entered');
    await page.getByTestId('audit-filter-actor').fill('Dana Member');
    await page.getByTestId('audit-apply').click();
    await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThanOrEqual(1);
    await saveArtifacts(page, resultsDir, 'admin-audit');
    expect(theAdmin().problems).toEqual([]);
  });
});
