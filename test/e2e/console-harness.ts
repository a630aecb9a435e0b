import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { createConsoleServicesFromFiles, type ConsoleServices } from '../../main/console-services';
import type { RunningServer } from '../../server/server';
import { startBrowserHost, type BrowserHost } from '../../tools/browser-host/index';
import { chromiumPath, watchPageProblems } from '../../tools/testing/chromium';

/*
 * One console as a person runs it, for end-to-end specs: its own services signed in with one
 * user's API token file, its own browser host, its own Chromium context (separate cookies), and
 * the page opened through the one-time link. Failure screenshots go under
 * $RMM_TEST_RESULTS_DIR/e2e/<spec>/.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
export const rendererDir = path.join(root, 'dist/renderer');

export function resultsDirFor(spec: string): string {
  return path.join(path.resolve(process.env.RMM_TEST_RESULTS_DIR ?? path.join(root, 'test-results')), 'e2e', spec);
}

/** End-to-end specs fail (not skip) without the built renderer or Chromium. */
export function requireConsolePrerequisites(): void {
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error('dist/renderer is missing: run `npx vite build --config renderer/vite.config.ts` first');
  }
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (apt-get install -y chromium, or set RMM_CHROMIUM)`);
}

export function writeTokenFile(dir: string, name: string, token: string): string {
  const file = path.join(dir, `${name}-token`);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

export interface ConsoleUnderTest {
  name: string;
  services: ConsoleServices;
  host: BrowserHost;
  context: BrowserContext;
  page: Page;
  /** Console errors, failed requests and HTTP errors seen by the page. */
  problems: string[];
  close(): Promise<void>;
}

export async function openConsoleAs(options: { name: string; browser: Browser; server: RunningServer; tokenFile: string; dataDir: string }): Promise<ConsoleUnderTest> {
  const services = await createConsoleServicesFromFiles({
    serverUrl: new URL(options.server.url),
    fingerprint: options.server.fingerprint,
    tokenFile: options.tokenFile,
    host: 'browser-host',
    exports: { directory: path.join(options.dataDir, 'exports', options.name) },
  });
  const host = await startBrowserHost({ handlers: services.handlers, events: services.events, rendererDir });
  services.start();
  const context = await options.browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  const response = await page.goto(host.url);
  expect(response?.ok()).toBe(true);
  return {
    name: options.name,
    services,
    host,
    context,
    page,
    problems,
    async close() {
      await context.close();
      await host.close();
      await services.stop();
    },
  };
}

/** Opens the org in the console's sidebar (entering it on the server) and waits until it is open. */
export async function openOrg(page: Page, orgName: string): Promise<void> {
  const item = page.getByTestId('org-item').filter({ hasText: orgName });
  await item.waitFor();
  if ((await item.getAttribute('aria-current')) !== 'true') await item.click();
  await expect.poll(() => item.getAttribute('aria-current')).toBe('true');
}

export async function saveArtifacts(page: Page, dir: string, name: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  writeFileSync(path.join(dir, `${name}.html`), await page.content());
}

/** For afterEach: on a failed test, a screenshot and the HTML of every open console. */
export async function saveFailureArtifacts(consoles: Array<ConsoleUnderTest | undefined>, dir: string, testName: string): Promise<void> {
  const base = `failure-${testName.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
  for (const console of consoles) {
    if (!console || console.page.isClosed()) continue;
    await saveArtifacts(console.page, dir, `${base}-${console.name}`).catch((err: unknown) => process.stderr.write(`could not save ${base}: ${String(err)}\n`));
  }
}
