import { Alert, AlertList, AlertParams, AlertQuery, StaffAlertParams } from '../../protocol/alerts';
import { OrgParams } from '../../protocol/api';
import { withScope } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import { apiRoute, type RouteCall } from '../http/route';
import { ALERT_LIST_LIMIT, acknowledgeAlert, findAlert, listAlerts } from './store';

/*
 * An org's security alerts (alerts.read) and those about MSP staff (MSP admins only): listed
 * newest first, acknowledged once by someone allowed to read them (audited). New ones are
 * pushed live to consoles (server/console/gateway.ts); these routes are the durable view.
 */

const openFilter = (open: 'true' | 'false' | undefined) => (open === undefined ? undefined : open === 'true');

/** Acknowledges an alert of `orgId` (null: staff): 404 if it is not there, 409 if it was already acknowledged. */
async function acknowledge(call: Pick<RouteCall<unknown, unknown, unknown>, 'principal' | 'server' | 'audit'>, orgId: string | null, alertId: string): Promise<Alert> {
  const { principal, server, audit } = call;
  return withScope(server.db, { orgId }, async (tx) => {
    const found = await findAlert(tx, { orgId, alertId });
    if (!found) throw NotFoundError('No such alert');
    const acknowledged = await acknowledgeAlert(tx, { orgId, alertId, by: { userId: principal.userId, name: principal.displayName }, at: server.clock.now() });
    if (!acknowledged) throw ConflictError(`That alert was already acknowledged${found.acknowledgedBy ? ` by ${found.acknowledgedBy.name}` : ''}`);
    await audit(tx, { orgId, action: 'alert.acknowledged', target: { type: 'alert', id: alertId }, details: { kind: acknowledged.kind } });
    return acknowledged;
  });
}

export const alertRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/alerts',
    summary: `Security alerts of the org (a backup code used, step-up locked), newest first, at most ${ALERT_LIST_LIMIT}; open=true: not yet acknowledged`,
    tag: 'alerts',
    permission: 'alerts.read',
    params: OrgParams,
    query: AlertQuery,
    response: AlertList,
    handler: async ({ input, server }) => ({
      alerts: await withScope(server.db, { orgId: input.params.orgId }, (tx) => listAlerts(tx, { orgId: input.params.orgId, open: openFilter(input.query.open) })),
    }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/alerts/:alertId/acknowledge',
    summary: 'Acknowledge an alert of the org (audited; 409 if someone already did)',
    tag: 'alerts',
    permission: 'alerts.read',
    audit: 'alert.acknowledged',
    params: AlertParams,
    response: Alert,
    handler: ({ input, principal, server, audit }) => acknowledge({ principal, server, audit }, input.params.orgId, input.params.alertId),
  }),
  apiRoute({
    method: 'get',
    path: '/api/staff/alerts',
    summary: `Security alerts about MSP staff users, newest first, at most ${ALERT_LIST_LIMIT} (MSP admins only); open=true: not yet acknowledged`,
    tag: 'alerts',
    adminOnly: true,
    query: AlertQuery,
    response: AlertList,
    handler: async ({ input, server }) => ({
      alerts: await withScope(server.db, {}, (tx) => listAlerts(tx, { orgId: null, open: openFilter(input.query.open) })),
    }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/staff/alerts/:alertId/acknowledge',
    summary: 'Acknowledge an alert about an MSP staff user (MSP admins only, audited in the platform chain; 409 if someone already did)',
    tag: 'alerts',
    adminOnly: true,
    audit: 'alert.acknowledged',
    params: StaffAlertParams,
    response: Alert,
    handler: ({ input, principal, server, audit }) => acknowledge({ principal, server, audit }, null, input.params.alertId),
  }),
];
