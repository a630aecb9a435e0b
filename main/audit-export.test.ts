import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditExportProgress } from '../protocol/ipc-contract';
import { exportFolder, RecordCounter, suggestedExportName } from './audit-export';
import { createConsoleServices, type ConsoleServices } from './console-services';
import { staticBearerToken } from './credentials';
import { dispatchIpc } from './ipc-dispatch';
import * as fixtures from './test-support/console-fixtures';
import { OPERATOR_TOKEN, startFakeRmmServer, type FakeRmmServer } from './test-support/fake-rmm-server';

/*
 * Audit exports in main: records counted as they stream, the file written through `.part` and
 * renamed when complete, progress pushed as events, cancel and failure leave no file behind.
 */

const ENTRIES = 5_000;
const line = (seq: number): string => `${JSON.stringify({ seq, action: 'org.entered', details: { note: `entry ${seq}` } })}\n`;
const exportPath = (format: string): string => `/api/orgs/${fixtures.ORG_ID}/audit/export?format=${format}`;

/** A response the test writes to piece by piece, to see what the console does in between. */
let held: ServerResponse | undefined;
let server: FakeRmmServer;
let dir: string;
const running: ConsoleServices[] = [];

async function count(format: 'jsonl' | 'csv', text: string, chunkSize = 7): Promise<number> {
  const counter = new RecordCounter(format);
  const chunks: Buffer[] = [];
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  await pipeline(Readable.from(chunks), counter, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return counter.records;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rmm-export-test-'));
  server = await startFakeRmmServer({
    [exportPath('jsonl')]: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-audit-entries': String(ENTRIES) });
      // Half now; the rest once the test has seen progress (the file grows while the download runs).
      for (let seq = 1; seq <= ENTRIES / 2; seq++) res.write(line(seq));
      held = res;
    },
    [exportPath('csv')]: (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'forbidden', message: 'You need the audit.export permission' } }));
    },
  });
});

afterAll(async () => {
  await Promise.all(running.map((services) => services.stop()));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function consoleWithExports(folder: string | undefined): { services: ConsoleServices; progress: AuditExportProgress[] } {
  const services = createConsoleServices({
    serverUrl: server.url,
    trust: { kind: 'fingerprint', sha256: server.fingerprint },
    credentials: staticBearerToken(OPERATOR_TOKEN),
    host: 'browser-host',
    exports: folder ? { directory: folder, progressIntervalMs: 0 } : undefined,
  });
  running.push(services);
  const progress: AuditExportProgress[] = [];
  services.events.subscribe((envelope) => {
    if (envelope.event === 'audit.exportProgress') progress.push(envelope.payload);
  });
  return { services, progress };
}

describe('counting audit records as they stream', () => {
  it('counts JSON lines, including a last line without a newline', async () => {
    expect(await count('jsonl', '{"a":1}\n{"a":2}\n')).toBe(2);
    expect(await count('jsonl', '{"a":1}\n{"a":2}')).toBe(2);
    expect(await count('jsonl', '')).toBe(0);
  });

  it('counts CSV records without the header and without newlines inside quoted fields', async () => {
    const csv = 'seq,action,details\r\n1,org.entered,"{""note"":""two\nlines""}"\r\n2,"unit.renamed","a,b"\r\n';
    expect(await count('csv', csv, 3)).toBe(2);
    expect(await count('csv', 'seq,action\n')).toBe(0);
    expect(await count('csv', 'seq,action\n1,x')).toBe(1);
  });

  it('names files after the org, the time and the format, and never overwrites an earlier export in the folder', async () => {
    const name = suggestedExportName(fixtures.ORG_ID, 'csv', new Date('2026-01-02T03:04:05.678Z'));
    expect(name).toBe('audit-0b6f1c1e-20260102T030405Z.csv');
    const folder = exportFolder(path.join(dir, 'names'));
    expect(path.basename((await folder(name)) ?? '')).toBe(name);
    expect(path.basename((await folder(name)) ?? '')).toBe('audit-0b6f1c1e-20260102T030405Z (2).csv');
  });
});

describe('audit export over the handler map', () => {
  it('streams into the folder, reports progress against X-Audit-Entries before the download ends, and renames when done', async () => {
    const folder = path.join(dir, 'streamed');
    const { services, progress } = consoleWithExports(folder);
    const started = await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' });
    if (!started.ok) throw new Error(started.error.message);
    const { exportId, file } = started.value as { exportId: string; file: string };
    expect(path.dirname(file)).toBe(folder);

    // Half the entries are on disk while the server still holds the response open.
    await vi.waitFor(() => expect(progress.at(-1)?.written).toBe(ENTRIES / 2));
    expect(progress.at(-1)).toMatchObject({ exportId, state: 'running', total: ENTRIES, file });
    expect(existsSync(`${file}.part`)).toBe(true);
    expect(existsSync(file)).toBe(false);

    const res = held;
    if (!res) throw new Error('the server never got the export request');
    for (let seq = ENTRIES / 2 + 1; seq <= ENTRIES; seq++) res.write(line(seq));
    res.end();
    await vi.waitFor(() => expect(progress.at(-1)?.state).toBe('done'));
    expect(progress.at(-1)).toMatchObject({ written: ENTRIES, total: ENTRIES, error: null });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(ENTRIES);
    expect(JSON.parse(lines[ENTRIES - 1] ?? '{}')).toMatchObject({ seq: ENTRIES });
    expect(readdirSync(folder)).toEqual([path.basename(file)]);
    // Written counts only ever grow.
    const counts = progress.map((p) => p.written);
    expect([...counts].sort((a, b) => a - b)).toEqual(counts);
  });

  it('cancels a running export: the download stops and no file is left', async () => {
    const folder = path.join(dir, 'cancelled');
    const { services, progress } = consoleWithExports(folder);
    held = undefined;
    const started = await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' });
    if (!started.ok) throw new Error(started.error.message);
    const { exportId } = started.value as { exportId: string };
    await vi.waitFor(() => expect(progress.at(-1)?.written).toBe(ENTRIES / 2));
    const res = held as ServerResponse | undefined;
    const closed = new Promise<void>((resolve) => res?.once('close', () => resolve()));

    expect(await dispatchIpc(services.handlers, 'audit.cancelExport', { exportId })).toEqual({ ok: true, value: { exportId, cancelled: true } });
    await vi.waitFor(() => expect(progress.at(-1)?.state).toBe('cancelled'));
    await closed; // the server saw the connection go
    expect(readdirSync(folder)).toEqual([]);
    expect(await dispatchIpc(services.handlers, 'audit.cancelExport', { exportId })).toEqual({ ok: true, value: { exportId, cancelled: false } });
  });

  it('reports a refused export as failed with the server’s code, leaving no file', async () => {
    const folder = path.join(dir, 'refused');
    const { services, progress } = consoleWithExports(folder);
    const started = await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'csv' });
    expect(started.ok).toBe(true);
    await vi.waitFor(() => expect(progress.at(-1)?.state).toBe('failed'));
    expect(progress.at(-1)?.error).toEqual({ code: 'forbidden', message: 'You need the audit.export permission' });
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses to export where no destination is configured, and validates the request', async () => {
    const { services } = consoleWithExports(undefined);
    expect(await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'xml' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await dispatchIpc(services.handlers, 'audit.cancelExport', { exportId: 'nope' })).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
  });

  it('answers a dismissed save dialog with no export', async () => {
    const services = createConsoleServices({
      serverUrl: server.url,
      trust: { kind: 'fingerprint', sha256: server.fingerprint },
      credentials: staticBearerToken(OPERATOR_TOKEN),
      host: 'electron',
      exports: { chooseFile: async () => null },
    });
    running.push(services);
    expect(await dispatchIpc(services.handlers, 'audit.export', { orgId: fixtures.ORG_ID, format: 'jsonl' })).toEqual({ ok: true, value: { exportId: null, file: null } });
  });
});
