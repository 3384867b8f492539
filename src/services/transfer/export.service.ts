import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ServerConfig } from '../../config/config.js';
import type { ContentLocator, StoredContent } from '../../core/content/content-types.js';
import { DomainError } from '../../core/errors.js';
import { ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID } from '../../core/targeting/builtin-groups.js';
import type { TargetingDocument } from '../../core/transfer/targeting-document.js';
import {
  MANIFEST_NAME, TARGETING_NAME, contentMemberName, manifestXml, updateMemberName,
  type ContentScope, type TransferManifest,
} from '../../core/transfer/transfer-manifest.js';
import type { Logger } from '../../logger.js';
import type { Db } from '../../store/database.js';
import { createTransferStore } from '../../store/transfer.store.js';
import { signManifest } from './manifest-signature.js';
import { tarStream, type TarSource } from './tar-file.js';
import { loadSigningIdentity } from './transfer-keys.js';

// Export for a disconnected network: one tar holding the current update documents (all, or
// those changed since an anchor or a date), optionally the targeting (groups, approvals,
// declines) and content files, and last the signed manifest listing every member's size and
// SHA-256. Everything that can fail for a reason the admin can fix (no signing key, bad
// options) fails before the first byte is sent; the bytes are then streamed, never buffered.

export interface ExportOptions {
  /** delta: revisions changed after this anchor (from an earlier manifest) or ingested since this date */
  since: { anchor: number } | { date: string } | null;
  approvals: boolean;
  content: ContentScope;
}

export interface ExportSummary {
  packageId: string;
  kind: 'full' | 'delta';
  anchor: number;
  updates: number;
  groups: number;
  approvals: number;
  declined: number;
  contentFiles: number;
  contentBytes: number;
  /** files of approved updates (or known files) the store does not have: not in the package */
  contentMissing: number;
}

export interface ExportDeps {
  db: Db;
  config: Pick<ServerConfig, 'transfer'>;
  serverId: string;
  content: Pick<ContentLocator, 'locate'>;
  clock: () => Date;
  log: Logger;
}

/** Reads `--since`: a whole number is an anchor, anything else must be an ISO date or date-time. */
export function parseSince(raw: string | undefined | null): ExportOptions['since'] {
  if (raw === undefined || raw === null || raw === '') return null;
  if (/^\d{1,15}$/.test(raw)) return { anchor: Number(raw) };
  const t = Date.parse(raw);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw) || Number.isNaN(t)) {
    throw new DomainError('InvalidInput', 'since', `since must be an anchor (a number from an earlier manifest) or an ISO date (got ${JSON.stringify(raw)})`);
  }
  return { date: new Date(t).toISOString() };
}

export function createExportService(deps: ExportDeps) {
  const store = createTransferStore(deps.db);

  function targetingDocument(): TargetingDocument {
    const builtin = new Set([ALL_COMPUTERS_ID, UNASSIGNED_COMPUTERS_ID]);
    const groups = store.groups().filter((g) => !g.builtin && !builtin.has(g.id))
      .map((g) => ({ id: g.id, name: g.name, parentId: g.parentId }));
    const declined: string[] = [];
    for (const [id, s] of store.updateStates()) if (s.declined) declined.push(id);
    declined.sort();
    return {
      groups,
      approvals: store.approvals().map((a) => ({ updateId: a.updateId, groupId: a.groupId, action: a.action, deadline: a.deadline })),
      declined,
    };
  }

  return {
    /** Prepares the package (throws for anything the admin must fix) and returns its byte stream. */
    exportPackage(opts: ExportOptions): { fileName: string; summary: ExportSummary; body: Readable } {
      const now = deps.clock();
      const identity = loadSigningIdentity(deps.config.transfer, now);
      const createdAt = now.toISOString();
      // Read everything the package lists in one snapshot, so its counts and members agree.
      const snapshot = deps.db.transaction(() => ({
        anchor: store.anchor(),
        refs: store.currentRevisions(opts.since),
        targeting: opts.approvals ? targetingDocument() : null,
        digests: opts.content === 'approved' ? store.approvedDigests() : opts.content === 'all' ? store.presentDigests() : [],
      })).deferred();
      const files: StoredContent[] = [];
      let contentMissing = 0;
      for (const d of snapshot.digests) {
        const f = deps.content.locate(d);
        if (f) files.push(f);
        else contentMissing++;
      }
      if (contentMissing) deps.log.warn('export: files of approved updates are not in the content store and are left out', { missing: contentMissing });
      const targetingJson = snapshot.targeting ? Buffer.from(`${JSON.stringify(snapshot.targeting, null, 1)}\n`) : null;
      const summary: ExportSummary = {
        packageId: randomUUID(),
        kind: opts.since ? 'delta' : 'full',
        anchor: snapshot.anchor,
        updates: snapshot.refs.length,
        groups: snapshot.targeting?.groups.length ?? 0,
        approvals: snapshot.targeting?.approvals.length ?? 0,
        declined: snapshot.targeting?.declined.length ?? 0,
        contentFiles: files.length,
        contentBytes: files.reduce((n, f) => n + f.size, 0),
        contentMissing,
      };
      const mtime = now;
      async function* sources(): AsyncGenerator<TarSource> {
        for (const ref of snapshot.refs) {
          const doc = store.document(ref.revisionId);
          if (doc === undefined) throw new DomainError('Conflict', 'export', `revision ${ref.updateId}/${ref.revisionNumber} was removed while the package was written`);
          const bytes = Buffer.from(doc, 'utf8');
          yield { name: updateMemberName(ref.updateId, ref.revisionNumber), size: bytes.length, mtime, open: () => bytes };
        }
        if (targetingJson) yield { name: TARGETING_NAME, size: targetingJson.length, mtime, open: () => targetingJson };
        for (const f of files) {
          yield { name: contentMemberName(f.sha1Hex), size: f.size, mtime, open: () => createReadStream(f.path, { highWaterMark: 1024 * 1024 }) };
        }
      }
      const body = tarStream(sources(), (written) => {
        const manifest: TransferManifest = {
          packageId: summary.packageId,
          kind: summary.kind,
          sourceServerId: deps.serverId.toLowerCase(),
          createdAt,
          anchor: summary.anchor,
          sinceAnchor: opts.since && 'anchor' in opts.since ? opts.since.anchor : null,
          sinceDate: opts.since && 'date' in opts.since ? opts.since.date : null,
          approvals: opts.approvals,
          content: opts.content,
          counts: {
            updates: summary.updates, groups: summary.groups, approvals: summary.approvals, declined: summary.declined,
            contentFiles: summary.contentFiles, contentBytes: summary.contentBytes,
          },
          members: written.map((w) => ({ name: w.name, size: w.size, sha256: w.sha256 })),
        };
        const signed = Buffer.from(signManifest(manifestXml(manifest), identity), 'utf8');
        deps.log.info('export package written', { ...summary });
        return { name: MANIFEST_NAME, size: signed.length, mtime, open: () => signed };
      });
      const stamp = createdAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      return { fileName: `wsus-${summary.kind}-${stamp}.tar`, summary, body };
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
