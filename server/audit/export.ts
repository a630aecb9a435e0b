import { Readable } from 'node:stream';
import type { AuditEntry } from '../../protocol/audit-actions';
import { canonicalJson, type CanonicalValue } from '../../protocol/canonical-json';
import { withScope, type Db, type Tx } from '../db/database';
import { auditBatch, chainHead, countAudit, type TimeRange } from './store';

/*
 * Export to a SIEM or an auditor: JSON lines (one AuditEntry per line, lossless, hashes included
 * so the recipient can re-verify) or CSV (RFC 4180, for spreadsheets). Streamed in keyset batches,
 * each batch its own short transaction, so neither the log nor a connection is held while a slow
 * client reads. The export is bounded by the head seq seen when it was planned: the count sent up
 * front is exactly what follows.
 */

export type ExportFormat = 'jsonl' | 'csv';

export const CSV_COLUMNS = [
  'seq', 'id', 'time', 'orgId', 'actorType', 'actorId', 'actorName', 'action', 'targetType', 'targetId',
  'outcome', 'sourceIp', 'userAgent', 'details', 'prevHash', 'hash',
] as const satisfies ReadonlyArray<keyof AuditEntry>;

// Spreadsheets run a cell starting with one of these as a formula (CSV injection, OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: formula-looking text defused with a leading quote, then RFC 4180 quoting. */
export function csvField(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvValue(entry: AuditEntry, column: (typeof CSV_COLUMNS)[number]): string {
  if (column === 'details') return canonicalJson(entry.details as CanonicalValue);
  const value = entry[column];
  return value === null ? '' : String(value);
}

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

export function csvRecord(entry: AuditEntry): string {
  return `${CSV_COLUMNS.map((column) => csvField(csvValue(entry, column))).join(',')}\r\n`;
}

export function jsonLine(entry: AuditEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export interface ExportPlan extends TimeRange {
  orgId: string | null;
  format: ExportFormat;
  /** Entries appended after planning are not part of this export. */
  upToSeq: number;
  count: number;
}

/** Fixes what the export will contain and counts it. Run it in the transaction that records the export. */
export async function planAuditExport(tx: Tx, orgId: string | null, format: ExportFormat, range: TimeRange): Promise<ExportPlan> {
  const head = await chainHead(tx, orgId);
  const upToSeq = head?.seq ?? 0;
  const count = await countAudit(tx, orgId, { ...range, upToSeq });
  return { orgId, format, from: range.from, to: range.to, upToSeq, count };
}

async function* exportChunks(db: Db, plan: ExportPlan, batchSize: number): AsyncGenerator<string> {
  if (plan.format === 'csv') yield CSV_HEADER;
  const line = plan.format === 'csv' ? csvRecord : jsonLine;
  let afterSeq = 0;
  for (;;) {
    const batch = await withScope(db, { orgId: plan.orgId }, (tx) =>
      auditBatch(tx, plan.orgId, { from: plan.from, to: plan.to, afterSeq, upToSeq: plan.upToSeq, limit: batchSize }),
    );
    if (batch.length > 0) yield batch.map(line).join('');
    const last = batch.at(-1);
    if (!last || batch.length < batchSize) return;
    afterSeq = last.seq;
  }
}

/** The planned entries, oldest first, as a byte stream. */
export function auditExportStream(db: Db, plan: ExportPlan, batchSize = 500): Readable {
  return Readable.from(exportChunks(db, plan, batchSize), { objectMode: false });
}

export function exportFilename(orgId: string | null, format: ExportFormat, now: Date): string {
  return `audit-${orgId ?? 'platform'}-${now.toISOString().slice(0, 19).replace(/:/g, '')}.${format}`;
}
