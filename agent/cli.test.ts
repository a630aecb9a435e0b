import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCloseCode } from '../protocol/agent-messages';
import { agentCommand, type CliIo, EXIT_REPLACED, EXIT_USAGE } from './cli';
import { resolveAgentSettings } from './config';
import { AgentTestServer, makeCertificate, TEST_CREDENTIAL, type TestCertificate, welcome } from './test-support/agent-server';
import { formatFingerprint } from './tls-trust';

const TOKEN = TEST_CREDENTIAL;
const PIN = `sha256:${'ab'.repeat(32)}`;

function fakeIo(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    env,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    onStopSignal: () => () => undefined,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

describe('rmm agent arguments', () => {
  it('prints help and exits 0', async () => {
    const run = fakeIo();
    expect(await agentCommand(['--help'], run.io)).toBe(0);
    expect(run.out()).toMatch(/--server-fingerprint/);
  });

  it.each([
    ['a missing server', ['--token', TOKEN], /--server \(or RMM_SERVER_URL\): is required/],
    ['a plain http server', ['--server', 'http://10.0.0.1:8443', '--token', TOKEN], /--server .*https:\/\//],
    ['a missing token', ['--server', 'https://rmm.example'], /--token \(or RMM_AGENT_TOKEN\): is required/],
    ['a token with a line break', ['--server', 'https://rmm.example', '--token', `${TOKEN}\n`], /--token .*line breaks/],
    ['a malformed pin', ['--server', 'https://rmm.example', '--token', TOKEN, '--server-fingerprint', 'sha256:abc'], /--server-fingerprint .*64 hex/],
    ['a pin and a CA together', ['--server', 'https://rmm.example', '--token', TOKEN, '--server-fingerprint', PIN, '--ca', '/x.pem'], /--ca .*cannot be combined/],
    ['an unknown flag', ['--server', 'https://rmm.example', '--insecure'], /Unknown option '--insecure'/],
    ['a CA file that does not exist', ['--server', 'https://rmm.example', '--token', TOKEN, '--ca', '/nonexistent/ca.pem'], /--ca .*cannot read/],
  ])('refuses %s with exit 2, naming the flag', async (_name, argv, message) => {
    const run = fakeIo();
    expect(await agentCommand(argv, run.io)).toBe(EXIT_USAGE);
    expect(run.err()).toMatch(message);
    expect(run.err()).not.toContain(TOKEN);
  });

  it('refuses a CA file without a certificate in it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rmm-agent-')), 'ca.pem');
    writeFileSync(file, 'not a certificate');
    const run = fakeIo();
    expect(await agentCommand(['--server', 'https://rmm.example', '--token', TOKEN, '--ca', file], run.io)).toBe(EXIT_USAGE);
    expect(run.err()).toMatch(/holds no PEM certificate/);
  });

  it('reads defaults from the environment, flags winning', () => {
    const result = resolveAgentSettings(
      { server: 'https://flag.example' },
      { RMM_SERVER_URL: 'https://env.example', RMM_AGENT_TOKEN: TOKEN, RMM_SERVER_FINGERPRINT: PIN, RMM_LOG_LEVEL: 'debug' },
    );
    expect(result.ok && result.settings).toMatchObject({
      server: 'https://flag.example',
      token: TOKEN,
      serverFingerprint: Buffer.from('ab'.repeat(32), 'hex'),
      logLevel: 'debug',
      heartbeatLog: false,
    });
  });

  it('lets a trust flag replace the trust variables instead of clashing with them', () => {
    const result = resolveAgentSettings({ ca: '/etc/rmm/ca.pem' }, { RMM_SERVER_URL: 'https://rmm.example', RMM_AGENT_TOKEN: TOKEN, RMM_SERVER_FINGERPRINT: PIN });
    expect(result.ok && result.settings).toMatchObject({ ca: '/etc/rmm/ca.pem', serverFingerprint: undefined });
  });

  it('refuses a bad log level from the environment', () => {
    const result = resolveAgentSettings({}, { RMM_LOG_LEVEL: 'loud' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.join()).toMatch(/RMM_LOG_LEVEL/);
  });
});

describe('rmm agent running', () => {
  let certificate: TestCertificate;
  let server: AgentTestServer;

  beforeAll(async () => {
    certificate = await makeCertificate();
  });

  afterEach(async () => {
    await server.close();
  });

  it('exits 3 when another agent with the same token replaces it', async () => {
    server = await AgentTestServer.start(certificate, (_hello, session) => {
      session.socket.send(welcome(1_000));
      setTimeout(() => session.socket.close(AgentCloseCode.replaced, 'replaced'), 50);
    });
    const run = fakeIo({ RMM_AGENT_TOKEN: TOKEN, RMM_LOG_LEVEL: 'silent' });
    const argv = ['--server', server.url, '--server-fingerprint', formatFingerprint(certificate.sha256)];
    expect(await agentCommand(argv, run.io)).toBe(EXIT_REPLACED);
  });

  it('on SIGTERM closes with 1000 and exits 0 within 2 s, never logging the token', async () => {
    server = await AgentTestServer.start(certificate);
    const entry = fileURLToPath(new URL('./test-support/run-agent-cli.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', entry, '--server', server.url, '--server-fingerprint', formatFingerprint(certificate.sha256)],
      { env: { ...process.env, RMM_AGENT_TOKEN: TOKEN, RMM_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // hello, proof, inventory: the agent is connected.
    await server.until(() => (server.sessions[0]?.received.length ?? 0) >= 3, 15_000);
    const before = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - before).toBeLessThan(2_000);
    expect((await server.sessions[0]?.closed)?.code).toBe(1000);
    expect(stderr).toMatch(/"msg":"connected"/);
    expect(stderr).not.toContain(TOKEN);
  }, 20_000);
});
