import type { ExpressionBuilder, Selectable } from 'kysely';
import type { Alert, AlertKind } from '../../protocol/alerts';
import type { Tx } from '../db/database';
import type { AlertsTable, Database } from '../db/schema';

/*
 * Alert rows. Every function runs in a transaction scoped to the alert's org (or to no org for
 * alerts about MSP staff): row-level security shows and accepts nothing else (migration 0009).
 */

/** The most an alert list returns (newest first). */
export const ALERT_LIST_LIMIT = 200;

function toAlert(row: Selectable<AlertsTable>): Alert {
  return {
    id: row.id,
    orgId: row.org_id,
    kind: row.kind as AlertKind,
    createdAt: new Date(row.created_at).toISOString(),
    subject: row.subject_user_id && row.subject_name !== null ? { userId: row.subject_user_id, name: row.subject_name } : null,
    message: row.message,
    acknowledgedAt: row.acknowledged_at === null ? null : new Date(row.acknowledged_at).toISOString(),
    acknowledgedBy: row.acknowledged_by_user_id && row.acknowledged_by_name !== null ? { userId: row.acknowledged_by_user_id, name: row.acknowledged_by_name } : null,
  };
}

/** Rows of one org, or (null) the staff alerts of no org. Row-level security enforces it too. */
const ofOrg = (orgId: string | null) => (eb: ExpressionBuilder<Database, 'alerts'>) => (orgId === null ? eb('org_id', 'is', null) : eb('org_id', '=', orgId));

export interface NewAlert {
  orgId: string | null;
  kind: AlertKind;
  subject: { userId: string; name: string } | null;
  message: string;
  at: Date;
}

export async function insertAlert(tx: Tx, alert: NewAlert): Promise<Alert> {
  const row = await tx.insertInto('alerts')
    .values({
      org_id: alert.orgId,
      kind: alert.kind,
      created_at: alert.at,
      subject_user_id: alert.subject?.userId ?? null,
      subject_name: alert.subject?.name.slice(0, 200) ?? null,
      message: alert.message.slice(0, 1000),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAlert(row);
}

/** Alerts of the transaction's scope (`orgId`: the org, null: staff), newest first; `open`: unacknowledged only. */
export async function listAlerts(tx: Tx, options: { orgId: string | null; open?: boolean }): Promise<Alert[]> {
  let query = tx.selectFrom('alerts').selectAll()
    .where(ofOrg(options.orgId))
    .orderBy('created_at', 'desc').orderBy('id', 'desc')
    .limit(ALERT_LIST_LIMIT);
  if (options.open === true) query = query.where('acknowledged_at', 'is', null);
  if (options.open === false) query = query.where('acknowledged_at', 'is not', null);
  return (await query.execute()).map(toAlert);
}

export async function findAlert(tx: Tx, options: { orgId: string | null; alertId: string }): Promise<Alert | undefined> {
  const row = await tx.selectFrom('alerts').selectAll()
    .where('id', '=', options.alertId)
    .where(ofOrg(options.orgId))
    .executeTakeFirst();
  return row && toAlert(row);
}

/** Marks an open alert acknowledged; undefined when it was already (of two racing admins, one wins). */
export async function acknowledgeAlert(tx: Tx, options: { orgId: string | null; alertId: string; by: { userId: string; name: string }; at: Date }): Promise<Alert | undefined> {
  const row = await tx.updateTable('alerts')
    .set({ acknowledged_at: options.at, acknowledged_by_user_id: options.by.userId, acknowledged_by_name: options.by.name.slice(0, 200) })
    .where('id', '=', options.alertId)
    .where(ofOrg(options.orgId))
    .where('acknowledged_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  return row && toAlert(row);
}
