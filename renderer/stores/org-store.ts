import { create } from 'zustand';
import type { Org, Unit } from '../../protocol/api';
import { api, errorMessage } from '../api';

/* Which organisation and unit the technician is looking at, and the lists to choose from. */

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

interface OrgState {
  orgs: Org[];
  orgsStatus: LoadStatus;
  orgsError: string | null;
  selectedOrgId: string | null;
  units: Unit[];
  unitsStatus: LoadStatus;
  unitsError: string | null;
  /** null means "all units". */
  selectedUnitId: string | null;
  loadOrgs(): Promise<void>;
  selectOrg(orgId: string): Promise<void>;
  selectUnit(unitId: string | null): void;
  /** Puts a created or changed unit (the server's answer) into the list. */
  applyUnit(unit: Unit): void;
}

export const useOrgStore = create<OrgState>()((set, get) => ({
  orgs: [],
  orgsStatus: 'idle',
  orgsError: null,
  selectedOrgId: null,
  units: [],
  unitsStatus: 'idle',
  unitsError: null,
  selectedUnitId: null,

  async loadOrgs() {
    set({ orgsStatus: 'loading', orgsError: null });
    try {
      const { orgs } = await api.listOrgs();
      set({ orgs: [...orgs].sort((a, b) => a.name.localeCompare(b.name)), orgsStatus: 'ready' });
    } catch (error) {
      set({ orgsStatus: 'error', orgsError: errorMessage(error) });
    }
  },

  async selectOrg(orgId) {
    set({ selectedOrgId: orgId, selectedUnitId: null, units: [], unitsStatus: 'loading', unitsError: null });
    try {
      const { units } = await api.listUnits(orgId);
      if (get().selectedOrgId === orgId) set({ units, unitsStatus: 'ready' });
    } catch (error) {
      if (get().selectedOrgId === orgId) set({ unitsStatus: 'error', unitsError: errorMessage(error) });
    }
  },

  selectUnit(unitId) {
    set({ selectedUnitId: unitId });
  },

  applyUnit(unit) {
    const { selectedOrgId, units } = get();
    if (unit.orgId !== selectedOrgId) return;
    const exists = units.some((u) => u.id === unit.id);
    set({ units: exists ? units.map((u) => (u.id === unit.id ? unit : u)) : [...units, unit] });
  },
}));
