// The protocol-free model of one update revision, as derived once at ingest from a full
// `<upd:Update>` metadata document. Everything the scan and the store need is here, so the
// document itself is never re-parsed on a request path.

export type UpdateType = 'Software' | 'Driver' | 'Category' | 'Detectoid';
export type CategoryType = 'Company' | 'ProductFamily' | 'Product' | 'UpdateClassification';

/** GUIDs are kept lower-case everywhere in the model; the fragments keep the document's spelling. */
export interface UpdateIdentity {
  updateId: string;
  revisionNumber: number;
}

/** One CNF clause: satisfied when any member is installed. A bare `<UpdateIdentity>` is a one-member clause. */
export interface PrerequisiteClause {
  updateIds: string[];
  isCategory: boolean;
}

export interface UpdateFile {
  fileName: string;
  size: number;
  /** base64 SHA-1, as in the metadata `Digest` attribute */
  sha1: string;
  /** base64 SHA-256 from `AdditionalDigest Algorithm="SHA256"`, when present */
  sha256?: string;
  modified?: string;
  patchingType?: string;
  isEula?: boolean;
  /** Microsoft Update download URL when the document or sync supplied one */
  muUrl?: string;
}

export interface DriverInfo {
  hardwareIds: string[];
  driverClass?: string;
  manufacturer?: string;
  provider?: string;
  model?: string;
  driverVerDate?: string;
  driverVerVersion?: string;
}

export interface UpdateFragments {
  /** Core fragment: namespace-free, `b.`/`m.`/`d.` prefixes, several top-level elements, NOT escaped. */
  core: string;
  extended: string;
  /** language (as written in the document, e.g. `en`, `pt-br`) -> LocalizedProperties fragment */
  localized: Record<string, string>;
  /** language -> Eula fragment */
  eula: Record<string, string>;
}

export interface ParsedUpdate {
  identity: UpdateIdentity;
  updateType: UpdateType;
  /** for categories only */
  categoryType?: CategoryType;
  /** `PublicationState` attribute; `Expired` withdraws the update from clients */
  publicationState: string;
  creationDate?: string;
  defaultLanguage: string;
  title: string;
  description?: string;
  kbArticleIds: string[];
  msrcSeverity?: string;
  handler?: string;
  explicitlyDeployable: boolean;
  autoSelectOnWebSites: boolean;
  prerequisites: PrerequisiteClause[];
  /** BundledUpdates flattened (every AtLeastOne member); identities carry revision numbers */
  bundledUpdates: UpdateIdentity[];
  supersededUpdateIds: string[];
  files: UpdateFile[];
  driver?: DriverInfo;
  fragments: UpdateFragments;
}
