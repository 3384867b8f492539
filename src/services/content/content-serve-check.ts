import { lstat } from 'node:fs/promises';
import type { StoredContent } from '../../core/content/content-types.js';
import { checkContent, digestFile } from './content-digest.js';
import { presentEntry, quarantine, type CommitDeps } from './content-commit.js';
import { fingerprintOf } from './content-fingerprint.js';

// The serve-time tamper check. Every request already does one row lookup and one lstat; the
// lstat's fingerprint (inode, size, mtime and ctime in ns) is compared with the one recorded
// when the bytes were last hashed. Equal: served as is, nothing hashed. Different (a same-size
// edit, a restore from backup, a file stored before fingerprints existed): the file is hashed
// again before it is served, once per digest however many requests wait for it, with a bound
// on how many files are hashed at once. Bytes that still match get the new fingerprint; bytes
// that do not are quarantined, exactly as a deep verify would, and the request sees 404.

export interface ServeCheckStats {
  /** files hashed again because their fingerprint changed */
  rehashed: number;
  /** of those, quarantined because the bytes no longer match */
  tampered: number;
}

export interface ServeCheck {
  /** The file to serve: synchronous when the fingerprint is unchanged (the hot path), a promise otherwise. */
  locateForServing(sha1Hex: string): StoredContent | undefined | Promise<StoredContent | undefined>;
  stats(): ServeCheckStats;
}

export function createServeCheck(deps: CommitDeps, opts: { concurrency?: number } = {}): ServeCheck {
  const { layout, records, log } = deps;
  const limit = Math.max(1, opts.concurrency ?? 2);
  const inflight = new Map<string, Promise<StoredContent | undefined>>();
  const waiting: Array<() => void> = [];
  let running = 0;
  const counters: ServeCheckStats = { rehashed: 0, tampered: 0 };

  const slot = async (): Promise<() => void> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    return () => {
      running--;
      waiting.shift()?.();
    };
  };

  const recheck = async (hex: string): Promise<StoredContent | undefined> => {
    const release = await slot();
    try {
      // Looked up again: the file may have been re-ingested or quarantined while this waited.
      const entry = presentEntry(layout, records, hex);
      if (!entry) return undefined;
      if (entry.current === entry.recorded) return entry.found;
      const row = records.present(hex)!;
      counters.rehashed++;
      const actual = await digestFile(entry.found.path);
      const after = fingerprintOf(await lstat(entry.found.path, { bigint: true }));
      const mismatch = checkContent({ sha1Hex: hex, size: row.size, sha256: row.sha256 }, actual);
      if (mismatch) {
        counters.tampered++;
        const reason = `changed on disk after it was stored: ${mismatch.message}`;
        const file = await quarantine(deps, entry.found.path, hex, actual, `verify: ${reason}`, true);
        log.warn('stored content changed on disk; quarantined instead of served', { sha1: hex, reason: mismatch.reason, detail: mismatch.message, quarantineFile: file });
        return undefined;
      }
      if (after !== entry.current) {
        // Written to while it was read: neither served nor judged now; the next request looks again.
        log.warn('stored content is being modified; not served', { sha1: hex });
        return undefined;
      }
      records.setFingerprint(hex, after);
      log.info('stored content re-hashed after its file changed; bytes unchanged', { sha1: hex });
      return entry.found;
    } finally {
      release();
    }
  };

  return {
    locateForServing(sha1Hex) {
      const entry = presentEntry(layout, records, sha1Hex);
      if (!entry) return undefined;
      if (entry.current === entry.recorded) return entry.found;
      let p = inflight.get(sha1Hex);
      if (!p) {
        p = recheck(sha1Hex).finally(() => inflight.delete(sha1Hex));
        inflight.set(sha1Hex, p);
      }
      return p;
    },
    stats: () => ({ ...counters }),
  };
}
