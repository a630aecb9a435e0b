import { Alert, AlertList } from '../protocol/alerts';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';

/*
 * Handlers for security alerts (backup code used, MFA lock-out): an org's (alerts.read) and
 * those about MSP staff (MSP admins), listed newest first and acknowledged. New ones arrive live
 * on the feed as `alert.raised`.
 */

export type AlertChannel = 'alerts.list' | 'alerts.acknowledge' | 'alerts.staffList' | 'alerts.staffAcknowledge';

const withOpen = (path: string, open: boolean | undefined): string => (open === undefined ? path : `${path}?open=${open}`);

export function createAlertHandlers(api: ApiClient): Pick<IpcHandlerMap, AlertChannel> {
  return {
    'alerts.list': ({ orgId, open }) => api.get(withOpen(apiPath('orgs', orgId, 'alerts'), open), AlertList),
    'alerts.acknowledge': ({ orgId, alertId }) => api.send('POST', apiPath('orgs', orgId, 'alerts', alertId, 'acknowledge'), undefined, Alert),
    'alerts.staffList': ({ open }) => api.get(withOpen('/api/staff/alerts', open), AlertList),
    'alerts.staffAcknowledge': ({ alertId }) => api.send('POST', apiPath('staff', 'alerts', alertId, 'acknowledge'), undefined, Alert),
  };
}
