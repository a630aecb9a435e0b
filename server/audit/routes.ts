import { OrgParams } from '../../protocol/api';
import { AuditExportQuery, AuditPage, AuditPurgeResult, AuditQuery } from '../../protocol/access';
import { withOrg } from '../db/database';
import { apiRoute, StreamResponse } from '../http/route';
import { auditExportStream, EXPORT_CONTENT_TYPES, exportFilename, planAuditExport } from './export';
import { purgeExpiredAudit } from './retention';
import { queryAudit } from './store';

/** Header carrying the number of entries an export will stream, for the console's progress bar. */
export const AUDIT_ENTRIES_HEADER = 'X-Audit-Entries';

export const auditRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/audit',
    summary: 'Audit log of the org, newest first, filtered and paged backwards by seq',
    tag: 'audit',
    permission: 'audit.read',
    params: OrgParams,
    query: AuditQuery,
    response: AuditPage,
    handler: async ({ input, server }) => withOrg(server.db, input.params.orgId, (tx) => queryAudit(tx, input.params.orgId, input.query)),
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/audit/export',
    summary: `Export the org's audit log as JSON lines or CSV, oldest first, streamed (audited; the ${AUDIT_ENTRIES_HEADER} header gives the count)`,
    tag: 'audit',
    permission: 'audit.export',
    audit: 'audit.exported',
    stepUp: 'audit.export',
    params: OrgParams,
    query: AuditExportQuery,
    response: StreamResponse,
    produces: [EXPORT_CONTENT_TYPES.jsonl, EXPORT_CONTENT_TYPES.csv],
    handler: async ({ input, server, audit }) => {
      const { orgId } = input.params;
      const { format, from, to } = input.query;
      // The export is on record before the first byte leaves, and includes its own record.
      const plan = await withOrg(server.db, orgId, async (tx) => {
        await audit(tx, { action: 'audit.exported', target: { type: 'org', id: orgId }, details: { format, from: from ?? null, to: to ?? null } });
        return planAuditExport(tx, orgId, format, { from, to });
      });
      const stream = auditExportStream(server.db, plan);
      stream.on('error', (err) => server.log.error({ err, orgId }, 'audit export failed while streaming'));
      return {
        stream,
        contentType: EXPORT_CONTENT_TYPES[format],
        filename: exportFilename(orgId, format, server.clock.now()),
        headers: { [AUDIT_ENTRIES_HEADER]: String(plan.count) },
      };
    },
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/audit/purge',
    summary: "Purge audit entries older than the org's retention period, keeping the chain verifiable (audited)",
    tag: 'audit',
    permission: 'org.settings',
    audit: 'audit.purged',
    params: OrgParams,
    response: AuditPurgeResult,
    handler: async ({ input, server, audit }) => {
      const { orgId } = input.params;
      return purgeExpiredAudit(server.db, orgId, server.clock.now(), (tx, details) =>
        audit(tx, { action: 'audit.purged', target: { type: 'org', id: orgId }, details }),
      );
    },
  }),
];
