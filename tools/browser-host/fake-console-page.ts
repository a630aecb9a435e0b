import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import type { FakeConsoleBackend } from '../../main/test-support/fake-console-backend';
import { MUTATING_CONTROL_TEST_IDS } from '../../renderer/mutating-controls';
import { watchPageProblems } from '../testing/chromium';
import { startBrowserHost, type BrowserHost } from './index';

/*
 * For the renderer's browser tests: the built renderer served by a browser host over a fake
 * backend, in its own Chromium context, with the page's problems (console errors, failed
 * requests) collected. The caller closes `host` (and the context) when done.
 */

export interface FakeConsolePage {
  page: Page;
  context: BrowserContext;
  host: BrowserHost;
  problems: string[];
}

export async function openFakeConsole(
  browser: Browser,
  backend: FakeConsoleBackend,
  options: { rendererDir: string; viewport?: { width: number; height: number }; before?: (page: Page) => Promise<void> },
): Promise<FakeConsolePage> {
  const host = await startBrowserHost({ handlers: backend.handlers, events: backend.events, rendererDir: options.rendererDir });
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1440, height: 900 } });
  const page = await context.newPage();
  const problems = watchPageProblems(page);
  await options.before?.(page);
  await page.goto(host.url);
  return { page, context, host, problems };
}

/** Waits until the console has opened its first org. */
export async function firstOrgOpen(page: Page): Promise<void> {
  await page.getByTestId('org-item').first().waitFor();
  await expect.poll(() => page.getByTestId('org-item').first().getAttribute('aria-current')).toBe('true');
}

/** Test ids of the mutating controls on screen right now. */
export async function mutatingControls(page: Page): Promise<string[]> {
  const marked = await page.locator('[data-mutates]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-testid') ?? '(no test id)'));
  const listed = await page.locator(MUTATING_CONTROL_TEST_IDS.map((id) => `[data-testid="${id}"]`).join(', ')).count();
  expect(listed).toBe(marked.length); // every marked control is in the list, and the other way round
  return marked;
}
