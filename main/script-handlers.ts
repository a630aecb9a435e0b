import type { IpcHandlerMap } from '../protocol/ipc-contract';
import { ScriptDetail, ScriptList, ScriptVersion } from '../protocol/scripts';
import { apiPath, type ApiClient } from './api-client';
import type { StepUpStore } from './step-up-store';

/*
 * Handlers for the org script library (docs/scripts.md): list, read with versions, create, add a
 * version, and approve or reject a pending version with a reason. Each is one REST call; the
 * server decides who may (including never the author: 403 own_script) and audits. Deciding takes
 * a held step-up proof for `scripts.approve`.
 */

export type ScriptChannel = 'scripts.list' | 'scripts.get' | 'scripts.create' | 'scripts.addVersion' | 'scripts.approve' | 'scripts.reject';

export function createScriptHandlers(api: ApiClient, stepUps: StepUpStore): Pick<IpcHandlerMap, ScriptChannel> {
  const scripts = (orgId: string, ...rest: string[]): string => apiPath('orgs', orgId, 'scripts', ...rest);
  return {
    'scripts.list': ({ orgId }) => api.get(scripts(orgId), ScriptList),
    'scripts.get': ({ orgId, scriptId }) => api.get(scripts(orgId, scriptId), ScriptDetail),
    'scripts.create': ({ orgId, unitId, name, language, body, parameters, timeoutSeconds }) =>
      api.send('POST', scripts(orgId), { unitId, name, language, body, parameters, timeoutSeconds }, ScriptDetail),
    'scripts.addVersion': ({ orgId, scriptId, body, parameters, timeoutSeconds }) =>
      api.send('POST', scripts(orgId, scriptId, 'versions'), { body, parameters, timeoutSeconds }, ScriptVersion),
    'scripts.approve': ({ orgId, scriptId, version, reason }) =>
      api.send('POST', scripts(orgId, scriptId, 'approve'), { version, reason }, ScriptVersion, stepUps.forChannel('scripts.approve')),
    'scripts.reject': ({ orgId, scriptId, version, reason }) =>
      api.send('POST', scripts(orgId, scriptId, 'reject'), { version, reason }, ScriptVersion, stepUps.forChannel('scripts.reject')),
  };
}
