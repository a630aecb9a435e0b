import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeConsoleBackend } from '../../main/test-support/fake-console-backend';
import * as fixtures from '../../main/test-support/console-fixtures';
import { startBrowserHost, type BrowserHost } from './index';

/*
 * The built renderer in Debian's Chromium, served by the browser host over fake handlers:
 * the agent list renders and a pushed agent.status event flips a row live.
 * Needs `npx vite build --config renderer/vite.config.ts` first.
 */

const rendererDir = fileURLToPath(new URL('../../dist/renderer', import.meta.url));
const chromiumPath = process.env.RMM_CHROMIUM ?? '/usr/bin/chromium';
const skipReason = !existsSync(`${rendererDir}/index.html`)
  ? 'dist/renderer is missing: run `npx vite build --config renderer/vite.config.ts` first'
  : !existsSync(chromiumPath)
    ? `no Chromium at ${chromiumPath} (apt-get install -y chromium, or set RMM_CHROMIUM)`
    : undefined;
if (skipReason) console.warn(`skipping console browser test: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('console in Chromium through the browser host', () => {
  const backend = createFakeConsoleBackend({ role: 'admin' });
  const { handlers, events: hub } = backend;
  let host: BrowserHost;
  let browser: Browser;

  beforeAll(async () => {
    host = await startBrowserHost({ handlers, events: hub, rendererDir });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  it('renders the agent list and flips a row offline when agent.status arrives', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 860 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      // Browsers ignore frame-ancestors in a meta tag; the response header carries it.
      if (message.type() === 'error' && !message.text().includes("'frame-ancestors' is ignored")) {
        problems.push(message.text());
      }
    });
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(host.url);
    expect(new URL(page.url()).search).toBe('');

    const rows = page.getByTestId('agent-row');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);
    const rowA = page.locator(`[data-testid="agent-row"][data-agent-id="${fixtures.AGENT_A_ID}"]`);
    expect(await rowA.getAttribute('data-online')).toBe('true');
    expect(await page.getByTestId('agent-table').textContent()).toContain('(awaiting inventory)');
    expect(await page.getByTestId('connection-banner').getAttribute('data-state')).toBe('online');

    await page.getByTestId('unit-item').filter({ hasText: 'Front desk' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('front-desk-pc');
    await page.getByRole('button', { name: 'All units' }).click();
    await expect.poll(() => rows.count()).toBe(3);

    await page.getByRole('button', { name: /exam-room-01, online: show details/ }).click();
    const detail = page.getByTestId('agent-detail');
    await expect.poll(() => detail.textContent()).toContain('6.1.0-28-amd64');
    expect(await detail.textContent()).toContain('10.20.0.31');

    hub.emit('agent.status', { agent: { ...fixtures.agentA, online: false, lastSeenAt: new Date().toISOString() } });
    await expect.poll(() => rowA.getAttribute('data-online')).toBe('false');
    await expect.poll(() => detail.locator('[data-testid="status-badge"]').textContent()).toBe('Offline');

    hub.emit('connection.state', { state: 'offline', detail: 'connection lost; retrying in 4 s' });
    await expect.poll(() => page.getByTestId('connection-banner').getAttribute('data-state')).toBe('offline');
    hub.emit('connection.state', { state: 'online', detail: 'connected' });
    await expect.poll(() => page.getByTestId('connection-banner').getAttribute('data-state')).toBe('online');
    // Coming back online reloaded the list from the (fake) server, where agent A is online again.
    await expect.poll(() => rowA.getAttribute('data-online')).toBe('true');
    hub.emit('agent.status', { agent: { ...fixtures.agentA, online: false, lastSeenAt: new Date().toISOString() } });
    await expect.poll(() => rowA.getAttribute('data-online')).toBe('false');

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console-browser-host.png' });
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);
});
