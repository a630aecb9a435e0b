import type { Alert } from '../../protocol/alerts';
import type { ServerContext } from '../context';
import type { Tx } from '../db/database';
import { insertAlert, type NewAlert } from './store';

/*
 * Raising an alert is two steps: the row, written in the same transaction as the audit entry of
 * the event (so neither exists without the other), then, once that transaction has committed,
 * the `alert.raised` bus event that pushes it to the consoles allowed to see it
 * (server/console/gateway.ts). A console that was closed meanwhile finds it in the list.
 */

export function raiseAlert(tx: Tx, alert: NewAlert): Promise<Alert> {
  return insertAlert(tx, alert);
}

/** After the commit: live to every console whose user may read the alert's org's alerts. */
export function publishAlert(server: ServerContext, alert: Alert): void {
  server.bus.publish({ type: 'alert.raised', alert });
}

export function backupCodeUsedMessage(name: string, remaining: number): string {
  return `${name} used a backup code (${remaining === 0 ? 'none' : remaining} left)`;
}

/** "Dana Tech's step-up is locked until 15:42 UTC after 5 wrong codes" */
export function stepUpLockedMessage(name: string, until: Date, failures: number): string {
  const time = until.toISOString().slice(11, 16);
  return `${name}'s step-up is locked until ${time} UTC after ${failures} wrong codes`;
}
