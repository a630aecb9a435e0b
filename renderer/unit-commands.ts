import type { Unit } from '../protocol/api';
import { api } from './api';
import { useAccessStore } from './stores/access-store';
import { useOrgStore } from './stores/org-store';

/*
 * Changes to the unit tree. Each puts the server's answer into the org store; a new unit also
 * reloads the user's access, which the server computes per unit. Refusals throw ApiError.
 */

export async function createUnit(orgId: string, name: string, parentId: string | null): Promise<Unit> {
  const unit = await api.createUnit({ orgId, name, parentId });
  useOrgStore.getState().applyUnit(unit);
  await useAccessStore.getState().reload();
  return unit;
}

export async function renameUnit(orgId: string, unitId: string, name: string): Promise<Unit> {
  const unit = await api.renameUnit({ orgId, unitId, name });
  useOrgStore.getState().applyUnit(unit);
  return unit;
}

/** Active units accept jobs; read-only ones (every new unit) only report. */
export async function setUnitActive(orgId: string, unitId: string, active: boolean): Promise<Unit> {
  const unit = active ? await api.activateUnit(orgId, unitId) : await api.deactivateUnit(orgId, unitId);
  useOrgStore.getState().applyUnit(unit);
  return unit;
}
