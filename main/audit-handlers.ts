import { AuditPage } from '../protocol/access';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';
import type { AuditExporter } from './audit-export';

/*
 * Handlers for the org's audit log: keyset pages for the viewer, and exports that stream to a
 * file in main (see audit-export.ts) while the renderer follows `audit.exportProgress`.
 */

export type AuditChannel = 'audit.list' | 'audit.export' | 'audit.cancelExport';

export function createAuditHandlers(api: ApiClient, exporter: AuditExporter): Pick<IpcHandlerMap, AuditChannel> {
  return {
    'audit.list': ({ orgId, ...filters }) => {
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(filters)) {
        if (value !== undefined) query.set(key, String(value));
      }
      return api.get(`${apiPath('orgs', orgId, 'audit')}?${query}`, AuditPage);
    },
    'audit.export': (request) => exporter.start(request),
    'audit.cancelExport': async ({ exportId }) => ({ exportId, cancelled: exporter.cancel(exportId) }),
  };
}
