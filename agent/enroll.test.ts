import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreatedEnrolmentToken } from '../protocol/enrolment';
import { getTestServer, type TestServer } from '../server/test-support';
import { agentCommand, EXIT_USAGE } from './cli';
import { AgentConfigFile, EXIT_ENROLL_REFUSED } from './enroll';
import { formatFingerprint } from './tls-trust';

/*
 * `rmm agent enroll` against a real server: refusals before the token is spent (bad flags, an
 * existing config, an unwritable place), refusals by the server and by trust (a wrong pin never
 * sends the token), then a good enrolment writes a 0600 config that `rmm agent --config` runs
 * from, and the agent shows online.
 */

function fakeIo(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { env, stdout: (text: string) => void out.push(text), stderr: (text: string) => void err.push(text), onStopSignal: () => () => undefined },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

const tempDir = () => mkdtempSync(join(tmpdir(), 'rmm-enroll-'));
const GOOD_SHAPE = `rmm_enr_${'A'.repeat(43)}`;

describe('rmm agent enroll', () => {
  let t: TestServer;
  let orgId: string;
  let unitId: string;
  let pin: string;

  const newToken = async () => {
    const res = await t.request(`/api/orgs/${orgId}/enrolment-tokens`, { method: 'POST', body: { unitId, label: 'cli test' } });
    expect(res.status, res.text).toBe(200);
    return CreatedEnrolmentToken.parse(res.json()).token;
  };
  const tokenStatus = async (token: string) => {
    const rows = await t.database.ownerQuery(`SELECT used_at FROM enrolment_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, [token]);
    return rows[0]?.used_at ? 'used' : 'unused';
  };

  beforeAll(async () => {
    t = await getTestServer('pglite');
    orgId = (await t.buildOrg('Enrol Clinic')).id;
    unitId = (await t.buildUnit(orgId, 'Front desk')).id;
    pin = formatFingerprint(t.pin);
  });
  afterAll(async () => t?.close());

  it.each([
    ['a plain http URL', ['--server', 'http://rmm.example', '--token', GOOD_SHAPE], /--server: must be an https:\/\/ URL/],
    ['a URL that is not one', ['--server', 'rmm.example', '--token', GOOD_SHAPE], /--server: must be an https:\/\/ URL/],
    ['a missing token', ['--server', 'https://rmm.example'], /--token \(or RMM_ENROLMENT_TOKEN\): is required/],
    ['a token of the wrong format', ['--server', 'https://rmm.example', '--token', 'rmm_agt_secret-value-xyz'], /--token \(or RMM_ENROLMENT_TOKEN\): must be an enrolment token/],
    ['a malformed pin', ['--server', 'https://rmm.example', '--token', GOOD_SHAPE, '--fingerprint', 'sha256:abc'], /--fingerprint: must be sha256:/],
    ['a pin and a CA together', ['--server', 'https://rmm.example', '--token', GOOD_SHAPE, '--fingerprint', `sha256:${'ab'.repeat(32)}`, '--ca-file', '/x.pem'], /cannot be combined/],
    ['a CA file that does not exist', ['--server', 'https://rmm.example', '--token', GOOD_SHAPE, '--ca-file', '/nonexistent/ca.pem'], /--ca-file: cannot read/],
    ['an unknown flag', ['--server', 'https://rmm.example', '--insecure'], /Unknown option '--insecure'/],
  ])('refuses %s with exit 2, never echoing the token', async (_name, argv, message) => {
    const run = fakeIo();
    expect(await agentCommand(['enroll', ...argv, '--config', join(tempDir(), 'agent.json')], run.io)).toBe(EXIT_USAGE);
    expect(run.err()).toMatch(message);
    expect(run.err()).not.toContain('secret-value');
    expect(run.err()).not.toContain(GOOD_SHAPE);
  });

  it('refuses to overwrite an existing config without --force, before spending the token', async () => {
    const token = await newToken();
    const config = join(tempDir(), 'agent.json');
    writeFileSync(config, '{"old": true}', { mode: 0o600 });
    const run = fakeIo();
    expect(await agentCommand(['enroll', '--server', t.server.url, '--token', token, '--fingerprint', pin, '--config', config], run.io)).toBe(EXIT_USAGE);
    expect(run.err()).toMatch(/already holds an enrolment; pass --force/);
    expect(readFileSync(config, 'utf8')).toBe('{"old": true}');
    expect(await tokenStatus(token)).toBe('unused');
  });

  it('refuses a config path it cannot write, before spending the token', async () => {
    const token = await newToken();
    const blocker = join(tempDir(), 'file');
    writeFileSync(blocker, 'x');
    const run = fakeIo();
    expect(await agentCommand(['enroll', '--server', t.server.url, '--token', token, '--fingerprint', pin, '--config', join(blocker, 'agent.json')], run.io)).toBe(EXIT_USAGE);
    expect(run.err()).toMatch(/cannot write/);
    expect(await tokenStatus(token)).toBe('unused');
  });

  it('with a wrong pin never sends the token: exit 1, nothing written, the token still unused', async () => {
    const token = await newToken();
    const config = join(tempDir(), 'agent.json');
    const run = fakeIo();
    expect(await agentCommand(['enroll', '--server', t.server.url, '--token', token, '--fingerprint', `sha256:${'ab'.repeat(32)}`, '--config', config], run.io)).toBe(EXIT_ENROLL_REFUSED);
    expect(run.err()).toMatch(/certificate is not trusted/);
    expect(() => statSync(config)).toThrow();
    expect(await tokenStatus(token)).toBe('unused');
  });

  it('reports the server’s refusal with its code and exits 1 (unknown token)', async () => {
    const config = join(tempDir(), 'agent.json');
    const run = fakeIo({ RMM_ENROLMENT_TOKEN: GOOD_SHAPE });
    expect(await agentCommand(['enroll', '--server', t.server.url, '--fingerprint', pin, '--config', config], run.io)).toBe(EXIT_ENROLL_REFUSED);
    expect(run.err()).toMatch(/refused the enrolment: .*\(enrolment_token_invalid, HTTP 401\)/);
    expect(() => statSync(config)).toThrow();
  });

  it('enrols with a CA file too, and --force replaces an enrolment', async () => {
    const dir = tempDir();
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, t.ca);
    const config = join(dir, 'agent.json');
    writeFileSync(config, '{}', { mode: 0o600 });
    const run = fakeIo({ RMM_ENROLMENT_TOKEN: await newToken() });
    // The test server's certificate names localhost/127.0.0.1, so CA trust with hostname checks passes.
    expect(await agentCommand(['enroll', '--server', t.server.url, '--ca-file', ca, '--config', config, '--force'], run.io)).toBe(0);
    const written = AgentConfigFile.parse(JSON.parse(readFileSync(config, 'utf8')));
    expect(written).toMatchObject({ caFile: ca, serverFingerprint: null, orgId, unitId });
  });

  it('enrols, writes a 0600 config, and `rmm agent --config` connects and shows online; the token is then spent', async () => {
    const token = await newToken();
    const config = join(tempDir(), 'rmm', 'agent.json');
    const run = fakeIo();
    expect(await agentCommand(['enroll', '--server', t.server.url, '--token', token, '--fingerprint', pin, '--config', config], run.io), run.err()).toBe(0);
    expect(run.out()).toMatch(/Enrolled as agent/);
    expect(run.out()).not.toContain(token);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const written = AgentConfigFile.parse(JSON.parse(readFileSync(config, 'utf8')));
    expect(written).toMatchObject({ server: t.server.url.replace(/\/$/, ''), serverFingerprint: pin, orgId, unitId, caFile: null });
    expect(await tokenStatus(token)).toBe('used');

    // A second enrolment into the same file is refused.
    const again = fakeIo();
    expect(await agentCommand(['enroll', '--server', t.server.url, '--token', await newToken(), '--fingerprint', pin, '--config', config], again.io)).toBe(EXIT_USAGE);

    const entry = fileURLToPath(new URL('./test-support/run-agent-cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', entry, '--config', config], { env: { ...process.env, RMM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    try {
      const deadline = Date.now() + 15_000;
      let online = false;
      while (!online && Date.now() < deadline) {
        const res = await t.request(`/api/orgs/${orgId}/agents/${written.agentId}`);
        online = (res.json() as { online?: boolean }).online === true;
        if (!online) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(online, stderr).toBe(true);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(stderr).not.toContain(written.credential);
  }, 30_000);

  it('`rmm agent --config` refuses a config others can read, a broken one, and mixing it with flags', async () => {
    const dir = tempDir();
    const open = join(dir, 'open.json');
    writeFileSync(open, '{}', { mode: 0o644 });
    const loose = fakeIo();
    expect(await agentCommand(['--config', open], loose.io)).toBe(EXIT_USAGE);
    expect(loose.err()).toMatch(/readable by other users/);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"version": 1}', { mode: 0o600 });
    const bad = fakeIo();
    expect(await agentCommand(['--config', broken], bad.io)).toBe(EXIT_USAGE);
    expect(bad.err()).toMatch(/broken\.json: server/);

    const mixed = fakeIo();
    expect(await agentCommand(['--config', broken, '--server', 'https://rmm.example'], mixed.io)).toBe(EXIT_USAGE);
    expect(mixed.err()).toMatch(/--config cannot be combined with --server/);
  });
});
