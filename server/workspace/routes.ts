import { OrgParams } from '../../protocol/api';
import {
  CreateWorkspaceItemBody,
  SharedItemList,
  SharedItemParams,
  ShareItemBody,
  UnitParams,
  UpdateWorkspaceItemBody,
  WorkspaceItem,
  WorkspaceItemList,
  WorkspaceItemParams,
} from '../../protocol/access';
import type { Permission } from '../../protocol/permissions';
import type { OrgContext } from '../access/org-access';
import type { Principal } from '../auth/principal';
import { setScope, withScope } from '../db/database';
import { ConflictError, NotFoundError } from '../errors';
import { apiRoute } from '../http/route';
import { addShare, createItem, deleteOwnItem, findOwnItem, listOwnItems, listSharedInOrg, removeShare, updateOwnItem, type Owner } from './store';

/*
 * Personal workspaces. /api/workspace/* is the caller's own space: no org, no permission, and
 * someone else's item id answers 404 exactly like an id that does not exist, for everyone,
 * platform admins included. Sharing into a unit of an org is the one way an item becomes
 * visible to others (docs/access-control.md, "Personal workspaces").
 */

const owner = (principal: Principal): Owner => ({ id: principal.userId, name: principal.displayName });
const personal = (principal: Principal) => ({ userId: principal.userId });
const noSuchItem = () => NotFoundError('No such item in your workspace');
const readPermission = (kind: 'script' | 'note'): Permission => (kind === 'script' ? 'scripts.read' : 'notes.read');
const itemTarget = (itemId: string) => ({ type: 'workspace_item', id: itemId });

function knownUnit(org: OrgContext | undefined, unitId: string): OrgContext {
  if (!org || !org.units.some((u) => u.id === unitId)) throw NotFoundError('No such unit');
  return org;
}

export const workspaceRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/workspace/items',
    summary: "The caller's own workspace items, with where each is shared",
    tag: 'workspace',
    response: WorkspaceItemList,
    handler: async ({ principal, server }) => ({ items: await withScope(server.db, personal(principal), (tx) => listOwnItems(tx, owner(principal))) }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/workspace/items',
    summary: "Add a script or note to the caller's workspace (private until shared)",
    tag: 'workspace',
    body: CreateWorkspaceItemBody,
    response: WorkspaceItem,
    handler: async ({ input, principal, server }) =>
      withScope(server.db, personal(principal), (tx) => createItem(tx, owner(principal), input.body, server.clock.now())),
  }),
  apiRoute({
    method: 'get',
    path: '/api/workspace/items/:itemId',
    summary: 'One item of the caller’s workspace',
    tag: 'workspace',
    params: WorkspaceItemParams,
    response: WorkspaceItem,
    handler: async ({ input, principal, server }) => {
      const item = await withScope(server.db, personal(principal), (tx) => findOwnItem(tx, owner(principal), input.params.itemId));
      if (!item) throw noSuchItem();
      return item;
    },
  }),
  apiRoute({
    method: 'patch',
    path: '/api/workspace/items/:itemId',
    summary: 'Change the title or body of one of the caller’s items',
    tag: 'workspace',
    params: WorkspaceItemParams,
    body: UpdateWorkspaceItemBody,
    response: WorkspaceItem,
    handler: async ({ input, principal, server }) => {
      const item = await withScope(server.db, personal(principal), (tx) => updateOwnItem(tx, owner(principal), input.params.itemId, input.body, server.clock.now()));
      if (!item) throw noSuchItem();
      return item;
    },
  }),
  apiRoute({
    method: 'delete',
    path: '/api/workspace/items/:itemId',
    summary: 'Delete one of the caller’s items; its shares end with it (each audited in its org)',
    tag: 'workspace',
    params: WorkspaceItemParams,
    response: WorkspaceItem,
    handler: async ({ input, principal, server, audit }) =>
      withScope(server.db, personal(principal), async (tx) => {
        const item = await deleteOwnItem(tx, owner(principal), input.params.itemId);
        if (!item) throw noSuchItem();
        // Each ended share is recorded in its own org's chain, in this transaction.
        for (const share of item.shares) {
          await setScope(tx, { orgId: share.orgId });
          await audit(tx, { orgId: share.orgId, action: 'workspace.item_unshared', target: itemTarget(item.id), details: { unitId: share.unitId, kind: item.kind } });
        }
        return item;
      }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/orgs/:orgId/units/:unitId/shared-items',
    summary: 'Share one of the caller’s own items into a unit: people who may read scripts (or notes) there see it',
    tag: 'workspace',
    permission: 'workspace.share',
    audit: 'workspace.item_shared',
    params: UnitParams,
    body: ShareItemBody,
    response: WorkspaceItem,
    handler: async ({ input, org, principal, server, audit }) => {
      const { orgId, unitId } = input.params;
      knownUnit(org, unitId).require('workspace.share', unitId);
      return withScope(server.db, { orgId, userId: principal.userId }, async (tx) => {
        const item = await findOwnItem(tx, owner(principal), input.body.itemId);
        if (!item) throw noSuchItem();
        if ((await addShare(tx, { orgId, unitId, itemId: item.id, sharedBy: principal.userId }, server.clock.now())) === 'exists') {
          throw ConflictError('The item is already shared with this unit');
        }
        await audit(tx, { action: 'workspace.item_shared', target: itemTarget(item.id), details: { unitId, kind: item.kind } });
        return (await findOwnItem(tx, owner(principal), item.id)) ?? item;
      });
    },
  }),
  apiRoute({
    method: 'delete',
    path: '/api/orgs/:orgId/units/:unitId/shared-items/:itemId',
    summary: 'Stop sharing an item with a unit: its owner, or someone who may manage the unit',
    tag: 'workspace',
    // The owner may always take their own item back; anyone else needs units.manage on the unit.
    permission: 'org.read',
    audit: 'workspace.item_unshared',
    params: SharedItemParams,
    response: WorkspaceItem,
    handler: async ({ input, org, principal, server, audit }) => {
      const { orgId, unitId, itemId } = input.params;
      const context = knownUnit(org, unitId);
      return withScope(server.db, { orgId, userId: principal.userId }, async (tx) => {
        const [shared] = await listSharedInOrg(tx, { itemId, unitId });
        const isOwner = shared?.ownerId === principal.userId;
        // An item the caller could not see in the unit is as absent as one never shared.
        if (!shared || (!isOwner && !context.can(readPermission(shared.kind), unitId))) throw NotFoundError('No such item shared with this unit');
        if (!isOwner) context.require('units.manage', unitId);
        await removeShare(tx, itemId, unitId);
        await audit(tx, { action: 'workspace.item_unshared', target: itemTarget(itemId), details: { unitId, kind: shared.kind } });
        if (isOwner) return (await findOwnItem(tx, owner(principal), itemId)) ?? { ...shared, shares: [] };
        const { unitId: _unit, ...item } = shared;
        return { ...item, shares: [] };
      });
    },
  }),
  apiRoute({
    method: 'get',
    path: '/api/orgs/:orgId/shared-items',
    summary: 'Items shared into units of the org where the caller may read scripts (or notes)',
    tag: 'workspace',
    permission: 'org.read',
    params: OrgParams,
    response: SharedItemList,
    handler: async ({ input, org, principal, server }) => {
      const items = await withScope(server.db, { orgId: input.params.orgId, userId: principal.userId }, (tx) => listSharedInOrg(tx));
      return { items: items.filter((item) => org?.can(readPermission(item.kind), item.unitId) ?? false) };
    },
  }),
];
