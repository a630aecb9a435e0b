import { mkdirSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GrantList, WorkspaceItem, type Grant } from '../../protocol/access';
import { ErrorBody } from '../../protocol/errors';
import { MUTATING_CONTROL_TEST_IDS } from '../../renderer/mutating-controls';
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
 * A viewer changes nothing: their console shows not one mutating control on any screen (every
 * test id in renderer/mutating-controls.ts, and anything marked data-mutates), and the API
 * refuses each mutating route of the served OpenAPI document, called directly with the viewer's
 * token, with 403 `forbidden`. Real server in-process on PGlite, the viewer's own console.
 */

const resultsDir = resultsDirFor('viewer-readonly');

/**
 * Mutating routes a viewer may call, and why. Everything else that is not a plain GET must answer
 * 403; a new route lands in this list only by a deliberate edit.
 */
const VIEWER_MAY: Record<string, string> = {
  'POST /api/orgs/{orgId}/enter': 'entering an org changes nothing; it only puts org.entered on record',
  'POST /api/workspace/items': "the viewer's own private workspace, not org data (private until shared, and sharing is refused)",
  'PATCH /api/workspace/items/{itemId}': "the viewer's own private workspace",
  'DELETE /api/workspace/items/{itemId}': "the viewer's own private workspace",
  'POST /api/auth/session': 'signing in takes no credential at all (the token sent is ignored); it opens a session for the caller only',
  'POST /api/agents/enrol': 'an agent exchanging a one-time enrolment token takes no credential at all (the token sent is ignored); without a valid enrolment token it enrols nothing',
  'POST /api/auth/heartbeat': "the caller's own session: an activity ping",
  'POST /api/auth/sign-out': "the caller's own session",
  'POST /api/me/mfa/totp': "the caller's own second factor: every user, viewers included, must be able to enrol",
  'POST /api/me/mfa/totp/confirm': "the caller's own second factor",
  'POST /api/me/mfa/step-up': "proves the caller's own second factor; grants nothing by itself",
  'POST /api/me/mfa/backup-codes': "the caller's own backup codes (needs a step-up proof)",
};

const OpenApi = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) });

async function mutatingControlsOnScreen(page: Page): Promise<string[]> {
  const marked = await page.locator('[data-mutates]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-testid') ?? n.outerHTML.slice(0, 80)));
  const listed = await page.locator(MUTATING_CONTROL_TEST_IDS.map((id) => `[data-testid="${id}"]`).join(', ')).evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-testid') ?? ''));
  return [...new Set([...marked, ...listed])];
}

describe('a viewer sees no mutating controls and the API refuses them anyway', () => {
  let t: TestServer;
  let browser: Browser;
  let viewer: ConsoleUnderTest | undefined;
  let orgId: string;
  let siteId: string;
  let examId: string;
  let agentId: string;
  let viewerId: string;
  let viewerToken: string;
  let techGrant: Grant;
  let sharedItem: WorkspaceItem;

  beforeAll(async () => {
    requireConsolePrerequisites();
    rmSync(resultsDir, { recursive: true, force: true });
    mkdirSync(resultsDir, { recursive: true });
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Lakeside Clinic')).id;
    siteId = (await t.buildUnit(orgId, 'Main Street Site', null)).id;
    examId = (await t.buildUnit(orgId, 'Exam Rooms', siteId)).id;
    agentId = (await t.buildAgent(orgId, examId)).agentId;
    ({ userId: viewerId, token: viewerToken } = await t.buildUser({ orgId, role: 'viewer', unitId: null, name: 'Vic Viewer' }));
    const tech = await t.buildUser({ orgId, role: 'tech', unitId: siteId, name: 'Tess Tech' });
    // Something of someone else's for the viewer to try to change: a grant and a shared script.
    const grantOfTech = GrantList.parse((await t.request(`/api/orgs/${orgId}/grants`)).json()).grants.find((g) => g.userId === tech.userId);
    if (!grantOfTech) throw new Error('the tech has no grant');
    techGrant = grantOfTech;
    const created = await t.request('/api/workspace/items', { method: 'POST', token: tech.token, body: { kind: 'script', title: 'Clear print queue', language: 'powershell', body: 'Get-PrintJob | Remove-PrintJob' } });
    const item = WorkspaceItem.parse(created.json());
    const shared = await t.request(`/api/orgs/${orgId}/units/${examId}/shared-items`, { method: 'POST', token: tech.token, body: { itemId: item.id } });
    sharedItem = WorkspaceItem.parse(shared.json());

    browser = await launchChromium();
    viewer = await openConsoleAs({ name: 'viewer', browser, server: t.server, tokenFile: writeTokenFile(t.dataDir, 'viewer', viewerToken), dataDir: t.dataDir });
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') await saveFailureArtifacts([viewer], resultsDir, task.name);
  });

  afterAll(async () => {
    await viewer?.close();
    await browser?.close();
    await t?.close();
  });

  it("shows the viewer every screen they may read, with no mutating control anywhere", async () => {
    if (!viewer) throw new Error('the viewer console did not open');
    const { page } = viewer;
    await expect.poll(() => page.getByTestId('signed-in-user').textContent()).toContain('Vic Viewer');
    await openOrg(page, 'Lakeside Clinic');
    const seen: Record<string, string[]> = {};
    const scan = async (where: string): Promise<void> => {
      seen[where] = await mutatingControlsOnScreen(page);
    };

    await page.locator(`[data-testid="agent-row"][data-agent-id="${agentId}"]`).waitFor();
    await scan('agents');
    await page.getByRole('button', { name: /show details/ }).first().click();
    await page.getByTestId('agent-detail').getByTestId('detail-hostname').waitFor();
    await scan('agent detail');

    await page.getByTestId('view-units').click();
    await page.locator(`[data-testid="unit-row"][data-unit-id="${examId}"]`).waitFor();
    await scan('units');

    await page.getByTestId('view-people').click();
    await page.getByTestId('user-row').filter({ hasText: 'Tess Tech' }).getByTestId('grant-row').waitFor();
    await scan('users and grants');

    await page.getByTestId('view-workspace').click();
    const shared = page.locator(`[data-testid="shared-item"][data-item-id="${sharedItem.id}"]`);
    await shared.getByRole('button', { name: 'Clear print queue' }).click();
    await shared.getByTestId('shared-item-body').waitFor();
    await scan('workspace');

    await page.getByTestId('view-audit').click();
    await page.getByTestId('audit-row').first().waitFor();
    await page.getByTestId('audit-row').first().getByRole('button').click();
    await page.getByTestId('audit-details').waitFor();
    expect(await page.getByTestId('settings-retention-value').textContent()).toContain('2,192 days');
    await scan('audit');

    for (const unit of ['Main Street Site', 'Exam Rooms']) {
      await page.getByTestId('unit-item').filter({ hasText: unit }).click();
      await scan(`sidebar: ${unit}`);
    }
    expect(Object.keys(seen)).toHaveLength(8);
    expect(Object.entries(seen).filter(([, ids]) => ids.length > 0)).toEqual([]);
    await saveArtifacts(page, resultsDir, 'viewer-audit');
    expect(viewer.problems).toEqual([]);
  });

  it('refuses every mutating route of the OpenAPI document, called directly with the viewer’s token, with 403 forbidden', async () => {
    const document = OpenApi.parse((await t.request('/api/openapi.json')).json());
    const ids: Record<string, string> = { orgId, unitId: examId, grantId: techGrant.id, itemId: sharedItem.id, agentId };
    const bodies: Record<string, unknown> = {
      'POST /api/orgs': { name: 'Viewer Org' },
      'PUT /api/orgs/{orgId}/settings': { auditRetentionDays: 3000 },
      'POST /api/orgs/{orgId}/units': { name: 'Viewer unit', parentId: null },
      'PATCH /api/orgs/{orgId}/units/{unitId}': { name: 'Renamed by a viewer' },
      'POST /api/orgs/{orgId}/users': { displayName: 'Mallory', email: 'mallory@example.test' },
      // Privilege escalation: the viewer grants themself tenant_admin of the whole org.
      'POST /api/orgs/{orgId}/grants': { userId: viewerId, role: 'tenant_admin', unitId: null },
      'POST /api/orgs/{orgId}/units/{unitId}/shared-items': { itemId: sharedItem.id },
    };
    const checked: string[] = [];
    const wrong: string[] = [];
    const exempt: string[] = [];
    for (const [template, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        const route = `${method.toUpperCase()} ${template}`;
        // Plain reads are allowed; the export is a GET that hands data out, so it is checked too.
        if (method === 'get' && !template.endsWith('/audit/export')) continue;
        if (VIEWER_MAY[route]) {
          exempt.push(route);
          continue;
        }
        const url = template.replace(/\{(\w+)\}/g, (_match, name: string) => ids[name] ?? randomUUID());
        const response = await t.request(url, { method: method.toUpperCase(), token: viewerToken, body: method === 'get' || method === 'delete' ? undefined : (bodies[route] ?? {}) });
        const body = ErrorBody.safeParse(response.text ? JSON.parse(response.text) : undefined);
        checked.push(route);
        if (response.status !== 403 || !body.success || body.data.error.code !== 'forbidden') wrong.push(`${route} -> ${response.status} ${response.text.slice(0, 160)}`);
      }
    }
    console.log(`viewer refused on ${checked.length} mutating routes:\n  ${checked.join('\n  ')}`);
    expect(wrong).toEqual([]);
    expect(checked.length).toBeGreaterThanOrEqual(13);
    expect(exempt.sort()).toEqual(Object.keys(VIEWER_MAY).sort()); // the exemptions are all real routes

    // Nothing changed, and every refusal is on record as denied: in the org's chain, or in the
    // platform chain for the routes outside any org (creating an org, staff sessions).
    const grants = GrantList.parse((await t.request(`/api/orgs/${orgId}/grants`)).json()).grants;
    expect(grants.filter((g) => g.userId === viewerId).map((g) => [g.role, g.unitId])).toEqual([['viewer', null]]);
    expect(grants.map((g) => g.id)).toContain(techGrant.id);
    const denied = await t.database.ownerQuery("SELECT count(*)::int AS n FROM audit_log WHERE (org_id = $1 OR org_id IS NULL) AND actor_id = $2 AND outcome = 'denied'", [orgId, viewerId]);
    expect(Number(denied[0]?.n)).toBeGreaterThanOrEqual(checked.length);
  });
});
