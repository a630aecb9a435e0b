import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServicesFromFiles, type ConsoleServices } from '../../main/console-services';
import { loadServerConfig } from '../../server/config';
import { startServer, type RunningServer } from '../../server/server';
import { startBrowserHost, type BrowserHost } from '../../tools/browser-host/index';
import { seedDemo, type DemoAgent } from '../../tools/demo/seed';
import { chromiumSkipReason, launchChromium, watchPageProblems } from '../../tools/testing/chromium';
import { resultsDirFor, saveArtifacts } from './console-harness';

/*
 * Agent presence across real processes: the server in-process on PGlite, the agent as its own
 * `node bin/rmm.js agent` process, the console services + browser host as `rmm demo` wires
 * them, and the built renderer in Debian's Chromium. The page shows the agent online, sees it
 * go offline when the agent process is stopped (no reload) and come back when it restarts.
 * Needs `npx vite build --config renderer/vite.config.ts` first.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const rendererDir = path.join(root, 'dist/renderer');
const resultsDir = resultsDirFor('agent-presence');
const hostname = os.hostname();
/** How long the page may take to reflect a presence change. */
const PRESENCE_TIMEOUT_MS = 10_000;

interface AgentProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** The agent as on a real endpoint: its own process, token in the environment (never argv). */
function spawnAgent(server: RunningServer, credential: string, logFile: string): AgentProcess {
  const child = spawn(process.execPath, [path.join(root, 'bin/rmm.js'), 'agent', '--server', server.url, '--server-fingerprint', server.fingerprint], {
    cwd: root,
    env: { ...process.env, RMM_AGENT_TOKEN: credential, RMM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves with the exit code. */
async function stopAgent(agent: AgentProcess, graceMs = 5_000): Promise<number | null> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) return agent.exited;
  agent.child.kill('SIGTERM');
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), graceMs);
  try {
    return await agent.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function elapsed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await work();
  return [value, Math.round(performance.now() - started)];
}

function printTimings(timings: Array<[string, number | undefined]>): void {
  const width = Math.max(...timings.map(([label]) => label.length));
  const lines = timings.map(([label, ms]) => `| ${label.padEnd(width)} | ${(ms === undefined ? '—' : `${ms} ms`).padStart(9)} |`);
  const rule = `+${'-'.repeat(width + 2)}+${'-'.repeat(11)}+`;
  console.log(['agent presence timings', rule, `| ${'step'.padEnd(width)} | ${'time'.padStart(9)} |`, rule, ...lines, rule].join('\n'));
}


describe('agent presence: real server, agent process, console and Chromium', () => {
  const timings = {
    serverStart: undefined as number | undefined,
    firstOnline: undefined as number | undefined,
    offlineAfterStop: undefined as number | undefined,
    onlineAfterRestart: undefined as number | undefined,
  };
  let problems: string[] = [];
  let dataDir: string | undefined;
  let server: RunningServer | undefined;
  let demo: DemoAgent;
  let services: ConsoleServices | undefined;
  let host: BrowserHost | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const agents: AgentProcess[] = [];

  /** The page, once beforeAll opened it. */
  const thePage = (): Page => {
    if (!page) throw new Error('the page was not opened (see beforeAll)');
    return page;
  };
  const theServer = (): RunningServer => {
    if (!server) throw new Error('the server did not start (see beforeAll)');
    return server;
  };
  const startAgentProcess = (): AgentProcess => {
    const agent = spawnAgent(theServer(), demo.credential, path.join(resultsDir, `agent-${agents.length + 1}.log`));
    agents.push(agent);
    return agent;
  };
  const agentRow = (): Locator => thePage().locator(`[data-testid="agent-row"][data-agent-id="${demo.agentId}"]`);
  /** Resolves when the agent's row shows this presence and exactly this machine's hostname. */
  const rowShows = (online: boolean): Promise<void> =>
    thePage()
      .locator(`[data-testid="agent-row"][data-agent-id="${demo.agentId}"][data-online="${online}"]`)
      // The row's button is named "<hostname>, online|offline: show details" (AgentList.tsx).
      .filter({ has: thePage().getByRole('button', { name: `${hostname}, ${online ? 'online' : 'offline'}: show details`, exact: true }) })
      .waitFor({ timeout: PRESENCE_TIMEOUT_MS });
  const expectBadges = async (label: 'Online' | 'Offline'): Promise<void> => {
    expect(await agentRow().getByTestId('status-badge').textContent()).toBe(label);
    await expect.poll(() => thePage().getByTestId('agent-detail').getByTestId('status-badge').textContent()).toBe(label);
  };
  /** Same document since the first load: the page learnt about presence live, not by reloading. */
  const timeOrigin = (): Promise<number> => thePage().evaluate(() => performance.timeOrigin);

  beforeAll(async () => {
    const missing = chromiumSkipReason(rendererDir);
    if (missing) throw new Error(missing);
    rmSync(resultsDir, { recursive: true, force: true });
    mkdirSync(resultsDir, { recursive: true });

    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'rmm-e2e-presence-'));
    dataDir = tempDir;
    const config = loadServerConfig({}, { RMM_PORT: '0', RMM_DATA_DIR: tempDir, RMM_LOG_LEVEL: 'silent', RMM_HEARTBEAT_INTERVAL_MS: '1000' });
    [server, timings.serverStart] = await elapsed(() => startServer(config));
    demo = await seedDemo(server.context.db, tempDir, server.context.keys);

    services = await createConsoleServicesFromFiles({
      serverUrl: new URL(server.url),
      fingerprint: server.fingerprint,
      operatorTokenFile: server.operatorTokenFile,
      host: 'browser-host',
    });
    host = await startBrowserHost({ handlers: services.handlers, events: services.events, rendererDir });
    services.start();

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1440, height: 860 } });
    page = await context.newPage();
    problems = watchPageProblems(page);
  });

  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail' || !page) return;
    const name = `failure-${task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    await saveArtifacts(page, resultsDir, name).catch((err: unknown) => console.error(`could not save ${name}: ${String(err)}`));
  });

  afterAll(async () => {
    printTimings([
      ['server start (PGlite, migrations, TLS)', timings.serverStart],
      ['agent spawn -> online in the page', timings.firstOnline],
      ['SIGTERM -> offline in the page', timings.offlineAfterStop],
      ['agent respawn -> online in the page', timings.onlineAfterRestart],
    ]);
    // Every step runs even when an earlier one throws; the first error is reported at the end.
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    };
    await attempt(() => Promise.all(agents.map((agent) => stopAgent(agent))));
    await attempt(async () => browser?.close());
    await attempt(async () => host?.close());
    await attempt(async () => services?.stop());
    await attempt(async () => server?.close());
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
  });

  it('shows the agent online with this machine’s hostname in the Demo Clinic', async () => {
    const currentPage = thePage();
    if (!host) throw new Error('the browser host did not start');
    const response = await currentPage.goto(host.url);
    expect(response?.ok()).toBe(true);
    expect(new URL(currentPage.url()).search).toBe(''); // the token was traded for a cookie

    const demoClinic = currentPage.getByTestId('org-item').filter({ hasText: 'Demo Clinic' });
    await demoClinic.waitFor();
    if ((await demoClinic.getAttribute('aria-current')) !== 'true') await demoClinic.click();
    await expect.poll(() => demoClinic.getAttribute('aria-current')).toBe('true');
    await expect.poll(() => currentPage.getByTestId('connection-banner').getAttribute('data-state')).toBe('online');

    let agent: AgentProcess | undefined;
    [, timings.firstOnline] = await elapsed(async () => {
      agent = startAgentProcess();
      await rowShows(true);
    });
    expect(agent?.child.exitCode).toBeNull();
    expect(await currentPage.getByTestId('agent-row').count()).toBe(1);

    await agentRow().getByRole('button', { name: `${hostname}, online: show details` }).click();
    await expect.poll(() => currentPage.getByTestId('detail-hostname').textContent()).toBe(hostname);
    await expectBadges('Online');
  });

  it('shows the agent offline within seconds of SIGTERM to its process, without a reload', async () => {
    const loadedAt = await timeOrigin();
    const agent = agents.at(-1);
    if (!agent) throw new Error('no agent process is running');
    [, timings.offlineAfterStop] = await elapsed(async () => {
      agent.child.kill('SIGTERM');
      await rowShows(false);
    });
    expect(await agent.exited).toBe(0); // a clean stop on SIGTERM (docs/agent.md)
    await expectBadges('Offline');
    expect(await timeOrigin()).toBe(loadedAt);
  });

  it('shows the agent online again when a new agent process starts with the same credential', async () => {
    const loadedAt = await timeOrigin();
    let agent: AgentProcess | undefined;
    [, timings.onlineAfterRestart] = await elapsed(async () => {
      agent = startAgentProcess();
      await rowShows(true);
    });
    expect(agent?.child.exitCode).toBeNull();
    await expectBadges('Online');
    expect(await thePage().getByTestId('agent-row').count()).toBe(1);
    expect(await thePage().getByTestId('detail-hostname').textContent()).toBe(hostname);
    expect(await timeOrigin()).toBe(loadedAt);
    expect(problems).toEqual([]);
    await saveArtifacts(thePage(), resultsDir, 'success');
  });

  it('refuses the one-time link a second time, and any other token, in a fresh browser context', async () => {
    if (!browser || !host) throw new Error('the browser or the browser host did not start');
    const stranger = await browser.newContext();
    try {
      const other = await stranger.newPage();
      for (const [url, status] of [
        [host.url, 403], // second use of the real token
        [`${host.origin}/?token=${randomBytes(32).toString('base64url')}`, 403], // a made-up token
        [`${host.origin}/`, 401], // no token, no cookie
      ] as const) {
        const response = await other.goto(url);
        expect(response?.status(), url).toBe(status);
        expect(await other.locator('#root, [data-testid]').count(), url).toBe(0);
      }
      expect(await other.textContent('body')).toContain('open the one-time link');
      expect(await stranger.cookies()).toEqual([]);
    } finally {
      await stranger.close();
    }
  });
});
