// The MS-WSUSSS data model, protocol-free: what an upstream (USS) answers and what a
// downstream (DSS) receives. The SOAP handlers of the upstream role serialize these; the
// upstream client parses the wire into these; the sync service consumes them. GUIDs are
// lower-case; digests are base64 SHA-1 as on the wire.

import type { UpdateIdentity } from '../catalog/update-model.js';

export type { UpdateIdentity };

/** Protocol version we speak, both roles (WSUS 10.0 / Server 2016+). */
export const SERVER_SYNC_PROTOCOL_VERSION = '1.20';

export interface IdAndDelta {
  id: string;
  /** false: every revision in this category, ignoring the anchor (newly selected) */
  delta: boolean;
}

export interface LanguageAndDelta {
  /** LCID */
  id: number;
  delta: boolean;
}

export interface SyncLanguage {
  id: number;
  short: string;
  long: string;
  enabled: boolean;
}

export interface ServerSyncConfigData {
  catalogOnlySync: boolean;
  lazySync: boolean;
  serverHostsPsfFiles: boolean;
  maxNumberOfUpdatesPerRequest: number;
  maxNumberOfDriverSetsPerRequest: number;
  maxNumberOfComputerIdsInRequest: number;
  maxNumberOfPnpHardwareIdsInRequest: number;
  maxUpdatesPerRequestInGetUpdateDecryptionData: number;
  newConfigAnchor: string;
  protocolVersion: string;
  /** first entry `{0,'all','all',…}`, then the languages changed since the config anchor */
  languages: SyncLanguage[];
}

export interface RevisionFilter {
  /** absent on the first sync */
  anchor: string | null;
  getConfig: boolean;
  get63LanguageOnly: boolean;
  /** products; null = element absent */
  categories: IdAndDelta[] | null;
  classifications: IdAndDelta[] | null;
  languages: LanguageAndDelta[] | null;
}

export interface RevisionIdList {
  anchor: string;
  revisions: UpdateIdentity[];
}

export interface ServerSyncUpdateData {
  identity: UpdateIdentity;
  /** the full `<upd:Update>` document (decoded from XmlUpdateBlob or XmlUpdateBlobCompressed) */
  xml: string;
  /** base64 SHA-1 of every file of the revision; empty when it has none */
  fileDigests: string[];
}

export interface ServerSyncFileUrl {
  /** base64 SHA-1 */
  digest: string;
  muUrl: string | null;
  ussUrl: string | null;
}

export interface ServerUpdateData {
  updates: ServerSyncUpdateData[];
  fileUrls: ServerSyncFileUrl[];
}

export interface UpdateFileDecryption {
  /** on the wire `UpdateId` is a full UpdateIdentity */
  identity: UpdateIdentity;
  files: Array<{ digest: string; decryptionKey: string | null }>;
}

export interface SyncTargetGroup {
  id: string;
  /** all zeros at the root */
  parentId: string;
  name: string;
  isBuiltin: boolean;
}

/** 0 Install, 1 Uninstall, 2 PreDeploymentCheck (Scan), 3 Block */
export type DeploymentActionCode = 0 | 1 | 2 | 3;

export interface SyncDeployment {
  updateId: string;
  revisionNumber: number;
  action: DeploymentActionCode;
  adminName: string;
  /** ISO; null = no deadline (wire: 9999-12-31T23:59:59.9999999) */
  deadline: string | null;
  isAssigned: boolean;
  /** ISO */
  goLiveTime: string;
  deploymentGuid: string;
  targetGroupId: string;
  /** 1..3 */
  downloadPriority: number;
}

export interface DeploymentsResult {
  anchor: string;
  /** full list */
  groups: SyncTargetGroup[];
  /** added or changed between the two anchors */
  deployments: SyncDeployment[];
  /** deployment GUIDs deleted between the two anchors */
  deadDeployments: string[];
  /** full list of declined update ids */
  hiddenUpdates: string[];
  /** full list of update ids whose EULA was accepted */
  acceptedEulas: string[];
}

export const NO_DEADLINE_WIRE = '9999-12-31T23:59:59.9999999';
export const ROOT_PARENT_GROUP = '00000000-0000-0000-0000-000000000000';

// --- Reporting rollup (ReportingWebService, protocol >= 1.3) ---

export interface RollupConfiguration {
  doDetailedRollup: boolean;
  rollupResetGuid: string;
  serverId: string;
  rollupDownstreamServersMaxBatchSize: number;
  rollupComputersMaxBatchSize: number;
  getOutOfSyncComputersMaxBatchSize: number;
  rollupComputerStatusMaxBatchSize: number;
}

/** One rollup record as received; field values kept as the wire strings (stored, not interpreted). */
export type RollupRecord = Record<string, string>;
