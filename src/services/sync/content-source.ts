import type { ServerConfig } from '../../config/config.js';
import { upstreamContentUrl } from '../../core/sync/content-url.js';
import type { CatalogStore } from '../../store/catalog.store.js';
import type { Db } from '../../store/database.js';
import { createSyncStore } from '../../store/sync.store.js';
import type { FetchFileSource } from '../content-store.service.js';
import { syncState } from './sync-state.js';

// The content store's `fetchFile` hook: where a file a client asked for (and this server
// lacks) can be fetched from, without opening an upstream session. Same choice as the
// content phase: the upstream's /Content (URL computed from config.sync.upstream), or the
// Microsoft Update URL when the admin chose that or the upstream is catalog-only.

export function createSyncContentSource(deps: { db: Db; config: Pick<ServerConfig, 'sync'>; catalog: Pick<CatalogStore, 'filesByDigest'> }): FetchFileSource {
  const state = syncState(createSyncStore(deps.db));
  const sync = deps.config.sync;
  return (sha1Hex) => {
    if (sync.content === 'none') return undefined;
    const rows = deps.catalog.filesByDigest(sha1Hex.toUpperCase());
    if (!rows.length) return undefined;
    if (sync.contentSource === 'microsoft' || state.upstreamConfig()?.catalogOnlySync === true) {
      const mu = rows.find((r) => r.muUrl)?.muUrl;
      return mu ? { url: mu } : undefined;
    }
    return { url: upstreamContentUrl(sync.upstream, rows[0]!.sha1Hex, rows[0]!.fileName) };
  };
}
