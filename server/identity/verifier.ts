import { readFileSync } from 'node:fs';
import type { ServerContext } from '../context';
import { createAccessTokenVerifier, type AccessTokenVerifier } from './access-token';
import { createFetchJson, type FetchJson } from './fetch-json';
import { createTenantKeys } from './tenant-keys';

/*
 * One access-token verifier per running server, built from its config on first use so its key
 * cache lives as long as the server. Absent when no audience is configured: sign-in is off.
 */

const verifiers = new WeakMap<ServerContext, AccessTokenVerifier | null>();

export function buildVerifier(server: ServerContext, fetchJson?: FetchJson): AccessTokenVerifier | null {
  const { config, clock } = server;
  if (!config.authAudience) return null;
  const fetcher = fetchJson ?? createFetchJson({ ca: config.authCaFile ? readFileSync(config.authCaFile, 'utf8') : undefined });
  const keys = createTenantKeys({ authorityBase: config.authAuthorityBase, fetchJson: fetcher, clock });
  return createAccessTokenVerifier({ authorityBase: config.authAuthorityBase, audience: config.authAudience, scope: config.authScope, keys, clock });
}

export function verifierFor(server: ServerContext): AccessTokenVerifier | null {
  let verifier = verifiers.get(server);
  if (verifier === undefined) {
    verifier = buildVerifier(server);
    verifiers.set(server, verifier);
  }
  return verifier;
}
