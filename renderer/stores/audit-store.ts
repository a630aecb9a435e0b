import { create } from 'zustand';
import type { AuditEntry, AuditOutcome, AuditAction } from '../../protocol/audit-actions';
import type { AuditExportFormat, AuditExportProgress, IpcRequest } from '../../protocol/ipc-contract';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/*
 * The audit viewer of the open org: filters, keyset paging (newest first; "older" follows the
 * page's nextBefore, "newer" steps back through the cursors already used), and exports that run
 * in main and report progress as events.
 */

export interface AuditFilters {
  actor: string;
  action: AuditAction | '';
  targetType: string;
  targetId: string;
  outcome: AuditOutcome | '';
  /** ISO instants, '' for open-ended. */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { actor: '', action: '', targetType: '', targetId: '', outcome: '', from: '', to: '' };

interface AuditState {
  orgId: string | null;
  filters: AuditFilters;
  limit: number;
  /** `before` of every page from the newest to the one shown (undefined: the newest page). */
  cursors: Array<number | undefined>;
  entries: AuditEntry[];
  nextBefore: number | null;
  status: LoadStatus;
  error: string | null;
  exports: AuditExportProgress[];
  exportError: string | null;
  open(orgId: string): Promise<void>;
  applyFilters(filters: AuditFilters, limit?: number): Promise<void>;
  older(): Promise<void>;
  newer(): Promise<void>;
  startExport(format: AuditExportFormat): Promise<void>;
  cancelExport(exportId: string): Promise<void>;
  applyExportProgress(progress: AuditExportProgress): void;
}

function query(orgId: string, filters: AuditFilters, limit: number, before: number | undefined): IpcRequest<'audit.list'> {
  return {
    orgId,
    limit,
    ...(before !== undefined ? { before } : {}),
    ...(filters.actor.trim() ? { actor: filters.actor.trim() } : {}),
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.targetType.trim() ? { targetType: filters.targetType.trim() } : {}),
    ...(filters.targetId.trim() ? { targetId: filters.targetId.trim() } : {}),
    ...(filters.outcome ? { outcome: filters.outcome } : {}),
    ...(filters.from ? { from: filters.from } : {}),
    ...(filters.to ? { to: filters.to } : {}),
  };
}

export const useAuditStore = create<AuditState>()((set, get) => {
  /** Shows the page at `cursors` (its last cursor); stale answers (another org or page) are dropped. */
  const show = async (orgId: string, cursors: Array<number | undefined>): Promise<void> => {
    const { filters, limit } = get();
    set({ orgId, cursors, status: 'loading', error: null });
    try {
      const page = await api.auditPage(query(orgId, filters, limit, cursors.at(-1)));
      if (get().orgId === orgId && get().cursors === cursors) set({ entries: page.entries, nextBefore: page.nextBefore, status: 'ready' });
    } catch (error) {
      if (get().orgId === orgId && get().cursors === cursors) set({ status: 'error', error: errorMessage(error) });
    }
  };
  return {
    orgId: null,
    filters: NO_FILTERS,
    limit: 50,
    cursors: [undefined],
    entries: [],
    nextBefore: null,
    status: 'idle',
    error: null,
    exports: [],
    exportError: null,

    async open(orgId) {
      if (get().orgId !== orgId) set({ filters: NO_FILTERS, entries: [], nextBefore: null, exportError: null });
      await show(orgId, [undefined]);
    },

    async applyFilters(filters, limit) {
      const { orgId } = get();
      set({ filters, limit: limit ?? get().limit });
      if (orgId) await show(orgId, [undefined]);
    },

    async older() {
      const { orgId, nextBefore, cursors } = get();
      if (!orgId || nextBefore === null) return;
      await show(orgId, [...cursors, nextBefore]);
    },

    async newer() {
      const { orgId, cursors } = get();
      if (!orgId || cursors.length < 2) return;
      await show(orgId, cursors.slice(0, -1));
    },

    async startExport(format) {
      const { orgId, filters } = get();
      if (!orgId) return;
      set({ exportError: null });
      try {
        const started = await api.exportAudit({
          orgId,
          format,
          ...(filters.from ? { from: filters.from } : {}),
          ...(filters.to ? { to: filters.to } : {}),
        });
        const { exportId, file } = started;
        // Progress events may arrive before this answer; keep whichever came first.
        if (exportId && file && !get().exports.some((e) => e.exportId === exportId)) {
          set({ exports: [...get().exports, { exportId, orgId, format, state: 'running', written: 0, total: null, file, error: null }] });
        }
      } catch (error) {
        set({ exportError: errorMessage(error) });
      }
    },

    async cancelExport(exportId) {
      try {
        await api.cancelAuditExport(exportId);
      } catch (error) {
        set({ exportError: errorMessage(error) });
      }
    },

    applyExportProgress(progress) {
      const { exports } = get();
      const known = exports.some((e) => e.exportId === progress.exportId);
      set({ exports: known ? exports.map((e) => (e.exportId === progress.exportId ? progress : e)) : [...exports, progress] });
    },
  };
});
