import { create } from 'zustand';
import type { Alert } from '../../protocol/alerts';
import { api, errorMessage } from '../api';
import type { LoadStatus } from './org-store';

/*
 * Security alerts for the signed-in user's eyes: the open org's (alerts.read) and, for MSP
 * admins, those about MSP staff. Loaded when an org opens, kept live by `alert.raised`.
 */

export interface AlertScope {
  orgId: string;
  /** The org's alerts (alerts.read in it). */
  org: boolean;
  /** Alerts about MSP staff (MSP admins). */
  staff: boolean;
}

interface AlertState {
  scope: AlertScope | null;
  alerts: Alert[];
  status: LoadStatus;
  error: string | null;
  load(scope: AlertScope): Promise<void>;
  /** A live alert: kept when it belongs to what is loaded. */
  apply(alert: Alert): void;
  /** Throws ApiError on refusal so the row can say why. */
  acknowledge(alert: Alert): Promise<void>;
}

/** Open ones first, then newest first. */
function ordered(alerts: Alert[]): Alert[] {
  return [...alerts].sort((a, b) => Number(a.acknowledgedAt !== null) - Number(b.acknowledgedAt !== null) || b.createdAt.localeCompare(a.createdAt));
}

function belongs(scope: AlertScope | null, alert: Alert): boolean {
  if (!scope) return false;
  return alert.orgId === null ? scope.staff : scope.org && alert.orgId === scope.orgId;
}

export function openAlertCount(alerts: Alert[]): number {
  return alerts.filter((a) => a.acknowledgedAt === null).length;
}

export const useAlertStore = create<AlertState>()((set, get) => ({
  scope: null,
  alerts: [],
  status: 'idle',
  error: null,

  async load(scope) {
    set({ scope, status: 'loading', error: null, ...(get().scope?.orgId !== scope.orgId ? { alerts: [] } : {}) });
    if (!scope.org && !scope.staff) return set({ status: 'ready', alerts: [] });
    try {
      const [org, staff] = await Promise.all([
        scope.org ? api.alerts(scope.orgId) : Promise.resolve({ alerts: [] }),
        scope.staff ? api.staffAlerts() : Promise.resolve({ alerts: [] }),
      ]);
      if (get().scope === scope) set({ alerts: ordered([...org.alerts, ...staff.alerts]), status: 'ready' });
    } catch (error) {
      if (get().scope === scope) set({ status: 'error', error: errorMessage(error) });
    }
  },

  apply(alert) {
    const { scope, alerts } = get();
    if (!belongs(scope, alert)) return;
    set({ alerts: ordered([alert, ...alerts.filter((a) => a.id !== alert.id)]) });
  },

  async acknowledge(alert) {
    const done = alert.orgId === null ? await api.acknowledgeStaffAlert(alert.id) : await api.acknowledgeAlert(alert.orgId, alert.id);
    set({ alerts: ordered(get().alerts.map((a) => (a.id === done.id ? done : a))) });
  },
}));
