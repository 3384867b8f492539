import type { Db } from '../../store/database.js';
import type { UpstreamRoleConfig } from '../../config/sync-config.js';
import type { ContentLocator } from '../../core/content/content-types.js';
import type { Logger } from '../../logger.js';
import { DomainError, invalidParameters } from '../../core/errors.js';
import { parseAnchor } from '../../core/server-sync/anchor.js';

export interface UpstreamRoleDeps {
  db: Db;
  identity: {
    serverId: string;
    cookieKey: Buffer;
    /** GetAuthConfig LastChange (ISO) */
    configLastChange: () => string;
  };
  config: UpstreamRoleConfig;
  /** GetConfigData CatalogOnlySync: this server holds no content (sync.content === 'none') */
  catalogOnlySync: boolean;
  /** GetConfigData LazySync: content only once approved (sync.content === 'approved') */
  lazySync: boolean;
  content: ContentLocator;
  clock: () => Date;
  log: Logger;
}

/**
 * An anchor a downstream hands back: ours and well-formed (else InvalidParameters naming
 * `param`), and not ahead of this database (else it came from another server or from this
 * one before its database was replaced: ServerChanged makes the downstream start over).
 */
export function anchorCounter(text: string, param: string, watermark: number): number {
  const a = parseAnchor(text);
  if (!a) throw invalidParameters(param, 'not an anchor this server issued');
  if (a.counter > watermark) {
    throw new DomainError('ServerChanged', '', `ServerChanged: ${param} ${a.counter} is ahead of this server (${watermark}); it was issued by another server`);
  }
  return a.counter;
}
