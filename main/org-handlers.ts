import { Grant, GrantList, Me, OrgAccess, OrgSettings, User, UserList } from '../protocol/access';
import { Unit } from '../protocol/api';
import { OrgIdentity } from '../protocol/identity';
import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { apiPath, type ApiClient } from './api-client';
import type { StepUpStore } from './step-up-store';

/*
 * Handlers for who the caller is and what they may do: entering an org, its settings and
 * sign-in settings, the unit tree, members and role grants. Each is one REST call; the server
 * decides and audits. Changing grants or security settings takes a held step-up proof.
 */

export type OrgChannel =
  | 'me.get'
  | 'orgs.enter'
  | 'orgs.access'
  | 'settings.get'
  | 'settings.update'
  | 'identity.get'
  | 'identity.update'
  | 'units.create'
  | 'units.rename'
  | 'units.activate'
  | 'units.deactivate'
  | 'users.list'
  | 'users.create'
  | 'grants.list'
  | 'grants.create'
  | 'grants.revoke';

export function createOrgHandlers(api: ApiClient, stepUps: StepUpStore): Pick<IpcHandlerMap, OrgChannel> {
  const org = (orgId: string, ...rest: string[]): string => apiPath('orgs', orgId, ...rest);
  return {
    'me.get': () => api.get('/api/me', Me),
    'orgs.enter': ({ orgId }) => api.send('POST', org(orgId, 'enter'), undefined, OrgAccess),
    'orgs.access': ({ orgId }) => api.get(org(orgId, 'access'), OrgAccess),
    'settings.get': ({ orgId }) => api.get(org(orgId, 'settings'), OrgSettings),
    'settings.update': ({ orgId, ...settings }) => api.send('PUT', org(orgId, 'settings'), settings, OrgSettings, stepUps.forChannel('settings.update')),
    'identity.get': ({ orgId }) => api.get(org(orgId, 'identity'), OrgIdentity),
    'identity.update': ({ orgId, ...identity }) => api.send('PUT', org(orgId, 'identity'), identity, OrgIdentity, stepUps.forChannel('identity.update')),

    'units.create': ({ orgId, name, parentId }) => api.send('POST', org(orgId, 'units'), { name, parentId }, Unit),
    'units.rename': ({ orgId, unitId, name }) => api.send('PATCH', org(orgId, 'units', unitId), { name }, Unit),
    'units.activate': ({ orgId, unitId }) => api.send('POST', org(orgId, 'units', unitId, 'activate'), undefined, Unit),
    'units.deactivate': ({ orgId, unitId }) => api.send('POST', org(orgId, 'units', unitId, 'deactivate'), undefined, Unit),

    'users.list': ({ orgId }) => api.get(org(orgId, 'users'), UserList),
    'users.create': ({ orgId, displayName, email }) => api.send('POST', org(orgId, 'users'), { displayName, email }, User),
    'grants.list': ({ orgId }) => api.get(org(orgId, 'grants'), GrantList),
    'grants.create': ({ orgId, userId, role, unitId }) => api.send('POST', org(orgId, 'grants'), { userId, role, unitId }, Grant, stepUps.forChannel('grants.create')),
    'grants.revoke': ({ orgId, grantId }) => api.send('DELETE', org(orgId, 'grants', grantId), undefined, Grant, stepUps.forChannel('grants.revoke')),
  };
}
