import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/*
 * Debian's Chromium for the console's browser and end-to-end tests (playwright-core, no
 * downloaded browsers): where it is, why a test must skip, how it is launched, and the page
 * problems (console errors, failed requests, HTTP errors) a test should end with none of.
 */

export const chromiumPath = process.env.RMM_CHROMIUM ?? '/usr/bin/chromium';

/** Why a Chromium test cannot run here, or undefined when it can. */
export function chromiumSkipReason(rendererDir: string): string | undefined {
  if (!existsSync(`${rendererDir}/index.html`)) return 'dist/renderer is missing: run `npx vite build --config renderer/vite.config.ts` first';
  if (!existsSync(chromiumPath)) return `no Chromium at ${chromiumPath} (apt-get install -y chromium, or set RMM_CHROMIUM)`;
  return undefined;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Collects what went wrong in the page; `expect(problems).toEqual([])` at the end of a test. */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    // Browsers ignore frame-ancestors in a meta tag; the response header carries it.
    if (message.type() === 'error' && !message.text().includes("'frame-ancestors' is ignored")) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
  });
  return problems;
}
