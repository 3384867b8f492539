import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DomainError } from '../../core/errors.js';
import { rethrowStorage } from '../../store/storage-errors.js';

// Where every byte of the content store lives. Paths are built only from validated digests and
// random names, never from strings a client or an upstream sent.

const SHA1_HEX = /^[0-9A-Fa-f]{40}$/;

/** The upper-case digest, or undefined for anything that is not exactly 40 hex digits. */
export function normalizeSha1Hex(value: string): string | undefined {
  return SHA1_HEX.test(value) ? value.toUpperCase() : undefined;
}

export function requireSha1Hex(value: string): string {
  const hex = normalizeSha1Hex(value);
  if (!hex) throw new DomainError('InvalidInput', 'sha1Hex', `not a SHA-1 digest: ${JSON.stringify(value.slice(0, 60))}`);
  return hex;
}

export interface ContentLayout {
  root: string;
  /** files being written by an ingest; never visible */
  tmpDir: string;
  /** resumable downloads, one per digest */
  partialDir: string;
  /** files that failed verification, kept for inspection, never served */
  quarantineDir: string;
  storePath(sha1Hex: string): string;
  partialPath(sha1Hex: string): string;
  newTmpPath(): string;
}

export function contentLayout(root: string): ContentLayout {
  const tmpDir = join(root, '.tmp');
  const partialDir = join(root, '.partial');
  const checked = (hex: string): string => {
    // A second guard: a caller that skipped validation must not be able to escape the root.
    if (!/^[0-9A-F]{40}$/.test(hex)) throw new DomainError('InvalidInput', 'sha1Hex', `not an upper-case SHA-1 digest: ${hex.slice(0, 60)}`);
    return hex;
  };
  return {
    root,
    tmpDir,
    partialDir,
    quarantineDir: join(root, '.quarantine'),
    storePath: (hex) => join(root, checked(hex).slice(38), hex),
    partialPath: (hex) => join(partialDir, checked(hex)),
    newTmpPath: () => join(tmpDir, randomBytes(12).toString('hex')),
  };
}

/** Synchronous: runs once when the store is created, before anything is served. */
export function ensureLayout(layout: ContentLayout): void {
  try {
    for (const d of [layout.root, layout.tmpDir, layout.partialDir, layout.quarantineDir]) mkdirSync(d, { recursive: true });
  } catch (e) {
    rethrowStorage(e, `the content directory ${layout.root}`);
  }
}

/** Makes a rename durable. Windows cannot open a directory for fsync; NTFS journals renames itself. */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
