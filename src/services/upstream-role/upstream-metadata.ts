import { DomainError, invalidParameters } from '../../core/errors.js';
import { formatAnchor } from '../../core/server-sync/anchor.js';
import { isGuid } from '../../core/server-sync/dss-identity.js';
import { languageFingerprint, languageUpdateList } from '../../core/server-sync/sync-languages.js';
import {
  SERVER_SYNC_PROTOCOL_VERSION, type IdAndDelta, type RevisionFilter, type RevisionIdList,
  type ServerSyncConfigData, type ServerSyncFileUrl, type ServerUpdateData, type UpdateFileDecryption, type UpdateIdentity,
} from '../../core/server-sync/server-sync-model.js';
import { sha1Base64ToHex } from '../../store/catalog.store.js';
import { createUpstreamRoleStore } from '../../store/upstream-role.store.js';
import { anchorCounter, type UpstreamRoleDeps } from './upstream-role.deps.js';
import type { DssSession } from './upstream-role.types.js';

// What downstream servers read from our catalog (MS-WSUSSS 3.1.4.4-3.1.4.7, 3.1.4.11, 3.1.4.18).
// Documents go out exactly as they were ingested: nothing on this path parses XML.

const MAX_DECRYPTION_IDS = 100;
const MAX_DOWNLOAD_DIGESTS = 100;
const SHA1_BASE64_RE = /^[A-Za-z0-9+/]{27}=$/;

export function createUpstreamMetadata(deps: UpstreamRoleDeps) {
  const { config, clock, log } = deps;
  const store = createUpstreamRoleStore(deps.db);

  function checkIds(list: readonly IdAndDelta[]): void {
    if (list.some((e) => !isGuid(e.id))) throw invalidParameters('filter', 'category ids must be GUIDs');
  }

  return {
    configData(_s: DssSession, configAnchor: string | null): ServerSyncConfigData {
      const after = configAnchor ? anchorCounter(configAnchor, 'configAnchor', store.watermark()) : null;
      const held = store.heldLanguages();
      const languagesChangedAt = store.languageSetSeq(languageFingerprint(held));
      return {
        catalogOnlySync: deps.catalogOnlySync,
        lazySync: deps.lazySync,
        serverHostsPsfFiles: false,
        maxNumberOfUpdatesPerRequest: config.maxUpdatesPerRequest,
        maxNumberOfDriverSetsPerRequest: 0,
        maxNumberOfComputerIdsInRequest: 0,
        maxNumberOfPnpHardwareIdsInRequest: 0,
        maxUpdatesPerRequestInGetUpdateDecryptionData: MAX_DECRYPTION_IDS,
        newConfigAnchor: formatAnchor(store.watermark(), clock()),
        protocolVersion: SERVER_SYNC_PROTOCOL_VERSION,
        // As WSUS: a downstream whose config anchor postdates the last language change gets no list at all.
        languages: after !== null && after >= languagesChangedAt ? [] : languageUpdateList(held),
      };
    },

    /**
     * Languages (LanguageAndDelta) and Get63LanguageOnly are accepted and ignored: our metadata
     * has no per-update install language to filter on (LocalizedProperties are display texts
     * every update carries for many languages), so every revision is offered to every downstream.
     */
    revisionIdList(_s: DssSession, filter: RevisionFilter): RevisionIdList {
      const after = filter.anchor ? anchorCounter(filter.anchor, 'filter', store.watermark()) : -1;
      const now = clock();
      if (filter.getConfig) {
        const r = store.configRevisions(after);
        return { anchor: formatAnchor(r.watermark, now), revisions: r.revisions };
      }
      const products = filter.categories ?? [];
      const classifications = filter.classifications ?? [];
      checkIds(products);
      checkIds(classifications);
      if (products.length === 0 || classifications.length === 0) {
        // A real WSUS answers an empty list here (captures 000007, 000012), not a fault. The
        // anchor does not advance, so selecting products later still brings everything.
        return { anchor: formatAnchor(Math.max(after, 0), now), revisions: [] };
      }
      const r = store.softwareRevisions(after, products, classifications);
      return { anchor: formatAnchor(r.watermark, now), revisions: r.revisions };
    },

    updateData(_s: DssSession, ids: UpdateIdentity[] | null): ServerUpdateData {
      if (!ids || ids.length === 0 || ids.length > config.maxUpdatesPerRequest) throw invalidParameters('updateIds');
      const out: ServerUpdateData = { updates: [], fileUrls: [] };
      const urls = new Map<string, ServerSyncFileUrl>();
      const seen = new Set<string>();
      for (const id of ids) {
        const updateId = id.updateId.toLowerCase();
        const key = `${updateId}/${id.revisionNumber}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const rev = store.revision(updateId, id.revisionNumber);
        if (!rev) {
          // WSUS faults the whole call (capture 000017); the downstream stops and retries later.
          log.warn('downstream asked for a revision this server does not have', { updateId, revisionNumber: id.revisionNumber });
          throw new DomainError('InternalServerError', '', `InternalServerError: unknown revision ${key}`);
        }
        const files = store.files(rev.revisionId);
        out.updates.push({ identity: { updateId, revisionNumber: id.revisionNumber }, xml: rev.document, fileDigests: files.digests });
        files.digests.forEach((digest, i) => {
          const muUrl = files.muUrls[i] ?? null;
          const known = urls.get(digest);
          if (!known) urls.set(digest, { digest, muUrl, ussUrl: null });
          else if (known.muUrl === null && muUrl !== null) known.muUrl = muUrl;
        });
      }
      out.fileUrls = [...urls.values()];
      return out;
    },

    /**
     * We hold no decryption keys (they come only from Microsoft Update for encrypted payloads),
     * so every file of each requested revision is listed with a null key, which the protocol
     * allows. Unknown revisions and revisions without files are left out.
     */
    decryptionData(_s: DssSession, ids: UpdateIdentity[] | null): UpdateFileDecryption[] {
      if (!ids || ids.length > MAX_DECRYPTION_IDS) throw invalidParameters('updateIds');
      const out: UpdateFileDecryption[] = [];
      for (const id of ids) {
        const rev = store.revision(id.updateId, id.revisionNumber);
        if (!rev) continue;
        const { digests } = store.files(rev.revisionId);
        if (digests.length) out.push({ identity: { updateId: id.updateId.toLowerCase(), revisionNumber: id.revisionNumber }, files: digests.map((digest) => ({ digest, decryptionKey: null })) });
      }
      return out;
    },

    /** A downstream's /Content request found nothing: fetch what our metadata knows (unless we keep no content). */
    downloadFiles(s: DssSession, digests: string[] | null): void {
      if (!digests || digests.length > MAX_DOWNLOAD_DIGESTS || digests.some((d) => !SHA1_BASE64_RE.test(d))) {
        throw invalidParameters('fileDigestList');
      }
      const missing: string[] = [];
      let requested = 0;
      for (const digest of digests) {
        const hex = sha1Base64ToHex(digest);
        if (!store.isKnownDigest(hex)) {
          missing.push(digest);
        } else if (!deps.catalogOnlySync) {
          deps.content.requestDownload(hex);
          requested++;
        }
      }
      if (requested) log.info('downstream asked for content', { serverId: s.serverId, fqdn: s.fqdn, files: requested });
      if (missing.length) throw new DomainError('FileDigestsMissing', missing.join('|'), `FileDigestsMissing: ${missing.length} unknown digest(s)`);
    },
  };
}

export type UpstreamMetadata = ReturnType<typeof createUpstreamMetadata>;
