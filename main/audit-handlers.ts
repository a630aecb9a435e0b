import { AuditPage } from '../protocol/access';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';
import type { AuditExporter } from './audit-export';
import type { StepUpStore } from './step-up-store';

/*
 * Handlers for the org's audit log: keyset pages for the viewer, and exports that stream to a
 * file in main (see audit-export.ts) while the renderer follows `audit.exportProgress`. An export
 * takes a held step-up proof (`audit.export`).
 */

export type AuditChannel = 'audit.list' | 'audit.export' | 'audit.cancelExport';

export function createAuditHandlers(api: ApiClient, exporter: AuditExporter, stepUps: StepUpStore): Pick<IpcHandlerMap, AuditChannel> {
  return {
    'audit.list': ({ orgId, ...filters }) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filters)) {
        if (value !== undefined) query.set(key, String(value));
      }
      return api.get(`${apiPath('orgs', orgId, 'audit')}?${query}`, AuditPage);
    },
    'audit.export': (request) => exporter.start(request, () => stepUps.forChannel('audit.export')),
    'audit.cancelExport': async ({ exportId }) => ({ exportId, cancelled: exporter.cancel(exportId) }),
  };
}
