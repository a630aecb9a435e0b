import { SignedManifest, TrustedBuild, TrustedBuildList } from '../../protocol/release';
import { verifyManifestSignature } from '../../agent/release-signature';
import { withScope } from '../db/database';
import { AppError, ConflictError } from '../errors';
import { apiRoute } from '../http/route';
import { releaseKeyFor } from './release-key';
import { insertTrustedBuild, listTrustedBuilds, TRUSTED_BUILD_LIST_LIMIT } from './store';

/*
 * The trusted-build registry (issue #5, docs/agent.md "Signed agent updates"): the agent builds
 * the MSP approved. MSP admins list it and add to it; adding needs a step-up proof and a manifest
 * signed by the release key the server is configured with, so a stolen admin session alone
 * cannot make agents accept a build. Agents will get the list over their own channel.
 */

export const releaseRoutes = [
  apiRoute({
    method: 'get',
    path: '/api/releases/trusted',
    summary: `Agent builds in the trusted registry, newest first, at most ${TRUSTED_BUILD_LIST_LIMIT} (MSP admins only)`,
    tag: 'releases',
    adminOnly: true,
    response: TrustedBuildList,
    handler: async ({ server }) => ({ builds: await withScope(server.db, {}, listTrustedBuilds) }),
  }),
  apiRoute({
    method: 'post',
    path: '/api/releases/trusted',
    summary: 'Add a signed agent build (the output of `rmm release sign`) to the trusted registry (MSP admins only, step-up releases.trust, audited in the platform chain). 409 release_key_not_configured without RMM_RELEASE_PUBLIC_KEY_FILE, 400 release_signature_invalid if it is not signed by that key, 409 conflict if already trusted',
    tag: 'releases',
    adminOnly: true,
    stepUp: 'releases.trust',
    audit: 'release.trusted',
    body: SignedManifest,
    response: TrustedBuild,
    handler: async ({ input, principal, server, audit }) => {
      const releaseKey = releaseKeyFor(server);
      if (!releaseKey) throw new AppError(409, 'release_key_not_configured', 'This server has no release public key (RMM_RELEASE_PUBLIC_KEY_FILE), so it cannot check a build');
      const signed = input.body;
      if (!verifyManifestSignature(signed, releaseKey.key)) {
        throw new AppError(400, 'release_signature_invalid', `The manifest is not signed by this server's release key ${releaseKey.keyId}`);
      }
      const { manifest } = signed;
      return withScope(server.db, {}, async (tx) => {
        const build = await insertTrustedBuild(tx, { signed, addedBy: principal.userId, at: server.clock.now() });
        if (!build) throw ConflictError(`Build ${manifest.sha256} is already trusted`);
        await audit(tx, { orgId: null, action: 'release.trusted', target: { type: 'release', id: manifest.sha256 }, details: { version: manifest.version, sha256: manifest.sha256, size: manifest.size, keyId: signed.keyId } });
        return build;
      });
    },
  }),
];
