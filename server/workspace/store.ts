import { sql } from 'kysely';
import type { z } from 'zod';
import type { CreateWorkspaceItemBody, SharedItemList, UpdateWorkspaceItemBody, WorkspaceItem } from '../../protocol/access';
import type { Tx } from '../db/database';
import type { WorkspaceItemRow } from '../db/schema';

/*
 * Personal workspace items and their shares. Row-level security does the hiding (migration 0002):
 * run these in withScope(db, { orgId, userId }) and a user only ever reads their own items, plus
 * items shared into the scoped org; only the owner can write, delete or share. The functions
 * still name the owner in their WHERE clauses so a missing scope finds nothing rather than
 * relying on the policy alone.
 */

export type SharedItem = z.infer<typeof SharedItemList>['items'][number];
type WorkspaceShare = WorkspaceItem['shares'][number];

interface ShareRow {
  org_id: string;
  item_id: string;
  unit_id: string;
  created_at: Date;
}

function toShare(row: ShareRow): WorkspaceShare {
  return { orgId: row.org_id, unitId: row.unit_id, createdAt: new Date(row.created_at).toISOString() };
}

function toItem(row: Omit<WorkspaceItemRow, 'owner_id'> & { owner_id: string }, ownerName: string, shares: WorkspaceShare[]): WorkspaceItem {
  return {
    id: row.id,
    ownerId: row.owner_id,
    ownerName,
    kind: row.kind,
    title: row.title,
    language: row.language,
    body: row.body,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    shares,
  };
}

/** Shares of the owner's items, wherever they are (the owner's shares are visible outside their org). */
async function sharesByItem(tx: Tx, itemIds: string[]): Promise<Map<string, WorkspaceShare[]>> {
  const byItem = new Map<string, WorkspaceShare[]>();
  if (itemIds.length === 0) return byItem;
  const rows = await tx.selectFrom('workspace_shares').select(['org_id', 'item_id', 'unit_id', 'created_at'])
    .where('item_id', 'in', itemIds).orderBy('created_at').orderBy('id').execute();
  for (const row of rows) {
    const list = byItem.get(row.item_id) ?? [];
    list.push(toShare(row));
    byItem.set(row.item_id, list);
  }
  return byItem;
}

export interface Owner {
  id: string;
  name: string;
}

export async function listOwnItems(tx: Tx, owner: Owner): Promise<WorkspaceItem[]> {
  const rows = await tx.selectFrom('workspace_items').selectAll().where('owner_id', '=', owner.id)
    .orderBy('updated_at', 'desc').orderBy('id').execute();
  const shares = await sharesByItem(tx, rows.map((r) => r.id));
  return rows.map((row) => toItem(row, owner.name, shares.get(row.id) ?? []));
}

export async function findOwnItem(tx: Tx, owner: Owner, itemId: string): Promise<WorkspaceItem | undefined> {
  const row = await tx.selectFrom('workspace_items').selectAll().where('id', '=', itemId).where('owner_id', '=', owner.id).executeTakeFirst();
  if (!row) return undefined;
  const shares = await sharesByItem(tx, [row.id]);
  return toItem(row, owner.name, shares.get(row.id) ?? []);
}

export async function createItem(tx: Tx, owner: Owner, body: z.output<typeof CreateWorkspaceItemBody>, now: Date): Promise<WorkspaceItem> {
  const row = await tx.insertInto('workspace_items').values({
    owner_id: owner.id,
    kind: body.kind,
    title: body.title,
    language: body.kind === 'script' ? body.language : null,
    body: body.body,
    created_at: now,
    updated_at: now,
  }).returningAll().executeTakeFirstOrThrow();
  return toItem(row, owner.name, []);
}

export async function updateOwnItem(tx: Tx, owner: Owner, itemId: string, patch: z.output<typeof UpdateWorkspaceItemBody>, now: Date): Promise<WorkspaceItem | undefined> {
  const row = await tx.updateTable('workspace_items')
    .set({ ...(patch.title !== undefined ? { title: patch.title } : {}), ...(patch.body !== undefined ? { body: patch.body } : {}), updated_at: now })
    .where('id', '=', itemId).where('owner_id', '=', owner.id)
    .returningAll().executeTakeFirst();
  if (!row) return undefined;
  const shares = await sharesByItem(tx, [row.id]);
  return toItem(row, owner.name, shares.get(row.id) ?? []);
}

/** Deletes the owner's item; its shares go with it (returned, so each can be audited in its org). */
export async function deleteOwnItem(tx: Tx, owner: Owner, itemId: string): Promise<WorkspaceItem | undefined> {
  const item = await findOwnItem(tx, owner, itemId);
  if (!item) return undefined;
  await tx.deleteFrom('workspace_items').where('id', '=', itemId).where('owner_id', '=', owner.id).execute();
  return item;
}

export async function addShare(tx: Tx, share: { orgId: string; unitId: string; itemId: string; sharedBy: string }, now: Date): Promise<'added' | 'exists'> {
  const result = await tx.insertInto('workspace_shares')
    .values({ org_id: share.orgId, unit_id: share.unitId, item_id: share.itemId, shared_by: share.sharedBy, created_at: now })
    .onConflict((oc) => oc.columns(['item_id', 'unit_id']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'added' : 'exists';
}

export async function removeShare(tx: Tx, itemId: string, unitId: string): Promise<boolean> {
  const result = await tx.deleteFrom('workspace_shares').where('item_id', '=', itemId).where('unit_id', '=', unitId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Items shared into units of the transaction's org, one entry per (item, unit), optionally one
 * (item, unit) pair. The caller filters by what the viewer may read on each unit.
 */
export async function listSharedInOrg(tx: Tx, only?: { itemId: string; unitId: string }): Promise<SharedItem[]> {
  let query = tx.selectFrom('workspace_shares as s')
    .innerJoin('workspace_items as i', 'i.id', 's.item_id')
    .leftJoin('users as u', 'u.id', 'i.owner_id')
    .select(['i.id', 'i.owner_id', 'i.kind', 'i.title', 'i.language', 'i.body', 'i.created_at', 'i.updated_at', 's.unit_id', 'u.display_name'])
    .where('s.org_id', '=', sql<string>`rmm_current_org()`);
  if (only) query = query.where('s.item_id', '=', only.itemId).where('s.unit_id', '=', only.unitId);
  const rows = await query.orderBy('i.title').orderBy('i.id').orderBy('s.unit_id').execute();
  return rows.map((row) => {
    const { shares: _none, ...item } = toItem(row, row.display_name ?? 'unknown user', []);
    return { ...item, unitId: row.unit_id };
  });
}
