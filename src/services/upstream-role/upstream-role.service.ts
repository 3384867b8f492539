import type { UpstreamRoleService, DssSession } from './upstream-role.types.js';
import type { UpstreamRoleDeps } from './upstream-role.deps.js';
import { createUpstreamAuth } from './upstream-auth.js';
import { createUpstreamMetadata } from './upstream-metadata.js';
import { createUpstreamDeployments } from './upstream-deployments.js';
import { createUpstreamRollup } from './upstream-rollup.js';

export type { UpstreamRoleDeps } from './upstream-role.deps.js';

export type UpstreamRole = UpstreamRoleService;

/** This server as an upstream: the rules behind ServerSyncWebService, DssAuthWebService and the rollup operations. */
export function createUpstreamRoleService(deps: UpstreamRoleDeps): UpstreamRole {
  const auth = createUpstreamAuth(deps);
  const metadata = createUpstreamMetadata(deps);
  const deployments = createUpstreamDeployments(deps);
  const rollup = createUpstreamRollup(deps, auth);

  return {
    authConfig: auth.authConfig,
    authorize: auth.authorize,
    getCookie: auth.getCookie,
    open: auth.open,
    rollupSession: auth.rollupSession,
    configData: metadata.configData,
    revisionIdList(s, filter) {
      auth.recordSync(s);
      return metadata.revisionIdList(s, filter);
    },
    updateData: metadata.updateData,
    decryptionData: metadata.decryptionData,
    deployments: deployments.deployments,
    downloadFiles: metadata.downloadFiles,
    // Unused by the protocol (MS-WSUSSS 3.1.4.9): the upstream ignores it.
    relatedRevisions: () => [],
    rollupConfiguration: rollup.rollupConfiguration,
    rollupDownstreamServers: rollup.rollupDownstreamServers,
    rollupComputers: rollup.rollupComputers,
    getOutOfSyncComputers: rollup.getOutOfSyncComputers,
    rollupComputerStatus: rollup.rollupComputerStatus,
  };
}
