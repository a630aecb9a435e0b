import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import type { AuditExportQuery } from '../protocol/access';
import type { AuditExportFormat, AuditExportProgress, AuditExportStarted } from '../protocol/ipc-contract';
import { apiPath, type ApiCallOptions, type ApiClient, type ApiDownload } from './api-client';
import { ConsoleError, toIpcError } from './console-error';
import type { EventSink } from './handlers';

/*
 * Audit exports run in main: the server's streamed answer goes through a record counter into a
 * file (`<name>.part`, renamed when complete), never into memory. Progress (entries written of
 * the X-Audit-Entries total) is pushed to the renderer as `audit.exportProgress`; an export can
 * be cancelled, which aborts the download and removes the partial file.
 */

export type AuditExportRequest = { orgId: string } & z.output<typeof AuditExportQuery>;

/** Where an export goes. Electron asks with a save dialog; the browser host writes into a folder. */
export type ExportDestination = (suggestedName: string) => Promise<string | null>;

export interface AuditExporter {
  /**
   * Picks the file, opens the download and answers once the server has: a refusal the user can
   * answer in place (step-up needed or refused, MFA not enrolled or locked) fails this call, so
   * the console can ask for the second factor and try again; any other failure ends the export
   * as `failed` progress. `stepUp` gives the held proof, asked only once a file was chosen (a
   * dismissed dialog leaves it held).
   */
  start(request: AuditExportRequest, stepUp?: () => ApiCallOptions): Promise<AuditExportStarted>;
  cancel(exportId: string): boolean;
  /** Cancels everything still running and waits for the files to be cleaned up. */
  stop(): Promise<void>;
}

export interface AuditExporterOptions {
  api: ApiClient;
  events: EventSink;
  destination: ExportDestination;
  /** Progress events are sent at most this often while running (the last one always). */
  progressIntervalMs?: number;
  now?: () => Date;
}

/**
 * A folder destination: `<dir>/<name>`, with ` (2)`, ` (3)`… when the name is taken, on disk or
 * by an export still running from this console.
 */
export function exportFolder(dir: string): ExportDestination {
  const used = new Set<string>();
  const taken = (file: string): boolean => used.has(file) || existsSync(file) || existsSync(`${file}.part`);
  return async (suggestedName) => {
    await mkdir(dir, { recursive: true });
    const { name, ext } = path.parse(suggestedName);
    let candidate = path.join(dir, suggestedName);
    for (let n = 2; taken(candidate); n++) candidate = path.join(dir, `${name} (${n})${ext}`);
    used.add(candidate);
    return candidate;
  };
}

/** Refuses destinations the console cannot write to; there is nothing to export to without one. */
export const noExportDestination: ExportDestination = async () => {
  throw new ConsoleError('bad_request', 'audit export is not configured on this console');
};

export function suggestedExportName(orgId: string, format: AuditExportFormat, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `audit-${orgId.slice(0, 8)}-${stamp}.${format}`;
}

/**
 * Counts records in a JSON-lines or CSV byte stream as it passes. A record ends at a newline;
 * in CSV only outside a quoted field, and the header line is not a record.
 */
export class RecordCounter extends Transform {
  records = 0;
  private inQuotes = false;
  private pendingBytes = false;
  private headerSeen: boolean;

  constructor(
    private readonly format: AuditExportFormat,
    private readonly onRecords: (records: number) => void = () => undefined,
  ) {
    super();
    this.headerSeen = format === 'jsonl';
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (const byte of chunk) {
      if (this.format === 'csv' && byte === 0x22) this.inQuotes = !this.inQuotes;
      if (byte === 0x0a && !this.inQuotes) {
        if (this.headerSeen) this.records++;
        else this.headerSeen = true;
        this.pendingBytes = false;
      } else if (byte !== 0x0d) {
        this.pendingBytes = true;
      }
    }
    this.onRecords(this.records);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    // A last record without a trailing newline still counts.
    if (this.pendingBytes && this.headerSeen) this.records++;
    done();
  }
}

/** Refusals that answer `audit.export` itself rather than a failed export. */
const ANSWERED_IN_PLACE = new Set<string>(['step_up_required', 'step_up_invalid', 'mfa_not_enrolled', 'mfa_locked']);

export function createAuditExporter(options: AuditExporterOptions): AuditExporter {
  const running = new Map<string, { controller: AbortController; finished: Promise<void> }>();
  const interval = options.progressIntervalMs ?? 100;
  const now = options.now ?? (() => new Date());

  function open(request: AuditExportRequest, controller: AbortController, callOptions: ApiCallOptions): Promise<ApiDownload> {
    const query = new URLSearchParams({ format: request.format });
    if (request.from) query.set('from', request.from);
    if (request.to) query.set('to', request.to);
    return options.api.download(`${apiPath('orgs', request.orgId, 'audit', 'export')}?${query}`, {
      ...callOptions,
      signal: controller.signal,
      accept: request.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    });
  }

  async function run(exportId: string, request: AuditExportRequest, file: string, controller: AbortController, opening: Promise<ApiDownload>): Promise<void> {
    const base = { exportId, orgId: request.orgId, format: request.format, file };
    let written = 0;
    let total: number | null = null;
    let lastSent = 0;
    const report = (state: AuditExportProgress['state'], error: AuditExportProgress['error'] = null): void => {
      lastSent = Date.now();
      options.events.emit('audit.exportProgress', { ...base, state, written, total, error });
    };
    const partial = `${file}.part`;
    report('running');
    try {
      const download = await opening;
      total = parseEntryCount(download.headers['x-audit-entries']);
      const counter = new RecordCounter(request.format, (records) => {
        written = records;
        if (Date.now() - lastSent >= interval) report('running');
      });
      await pipeline(download.body, counter, createWriteStream(partial, { mode: 0o600 }), { signal: controller.signal });
      written = counter.records;
      await rename(partial, file);
      report('done');
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      if (controller.signal.aborted) report('cancelled');
      else report('failed', toIpcError(error instanceof ConsoleError ? error : new ConsoleError('server_unreachable', 'the export was interrupted', { cause: error })));
    }
  }

  return {
    async start(request, stepUp = () => ({})) {
      const file = await options.destination(suggestedExportName(request.orgId, request.format, now()));
      if (!file) return { exportId: null, file: null };
      const exportId = randomUUID();
      const controller = new AbortController();
      const opening = open(request, controller, stepUp());
      const refusal = await opening.then(
        () => undefined,
        (error: unknown) => error,
      );
      if (refusal instanceof ConsoleError && ANSWERED_IN_PLACE.has(refusal.code)) throw refusal;
      const finished = run(exportId, request, file, controller, opening).finally(() => running.delete(exportId));
      running.set(exportId, { controller, finished });
      return { exportId, file };
    },
    cancel(exportId) {
      const entry = running.get(exportId);
      if (!entry) return false;
      entry.controller.abort();
      return true;
    },
    async stop() {
      const entries = [...running.values()];
      for (const entry of entries) entry.controller.abort();
      await Promise.all(entries.map((entry) => entry.finished));
    },
  };
}

function parseEntryCount(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,15}$/.test(value.trim())) return null;
  return Number(value.trim());
}
