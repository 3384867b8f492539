import type { Db } from './database.js';

// All SQL of the content store: the `content` table (what is on disk and in which state) and
// the reads of `files` it needs (what the metadata expects a digest to be). Digests are
// upper-case hex, validated by the caller.

export type ContentState = 'present' | 'quarantined';

/** Appended to migrations.ts: the Authenticode outcome per file and the serve-time fingerprint. */
export const CONTENT_SIGNATURES_MIGRATION = `
  -- ok | unsigned | malformed | digest-mismatch | bad-signature | untrusted | expired | not-code-signing
  -- | not-signable (no signature format: EULA text, .psf) | unchecked (policy off, or stored before checks existed)
  ALTER TABLE content ADD COLUMN signature_status TEXT NOT NULL DEFAULT 'unchecked';
  ALTER TABLE content ADD COLUMN signature_signer TEXT;          -- subject of the verified signer
  ALTER TABLE content ADD COLUMN signature_thumbprint TEXT;      -- its SHA-1 thumbprint
  ALTER TABLE content ADD COLUMN signature_detail TEXT;          -- why the check failed
  ALTER TABLE content ADD COLUMN signature_checked_at TEXT;
  ALTER TABLE content ADD COLUMN source TEXT;                    -- upstream | import | published (the policy that applies)
  -- ino:size:mtimeNs:ctimeNs of the file when its bytes were last hashed: serving compares it
  -- with the lstat it does anyway, and re-hashes before serving a file that changed.
  ALTER TABLE content ADD COLUMN fingerprint TEXT;
  CREATE INDEX content_signature_failures ON content(signature_status)
    WHERE signature_status NOT IN ('ok', 'not-signable', 'unchecked');
`;

/** The signature columns of a row (see CONTENT_SIGNATURES_MIGRATION). */
export interface SignatureColumns {
  status: string;
  signer: string | null;
  thumbprint: string | null;
  detail: string | null;
  checkedAt: string | null;
  source: string | null;
}

export interface ContentRow {
  sha1Hex: string;
  size: number;
  sha256: string | null;
  state: ContentState;
  storedAt: string;
  verifiedAt: string | null;
  error: string | null;
  quarantineFile: string | null;
  orphanedAt: string | null;
  signature: SignatureColumns;
  fingerprint: string | null;
}

/** What the metadata says a digest must be. */
export interface MetadataExpectation {
  size: number;
  sha256: string | null;
}

export interface ContentCounts {
  present: number;
  presentBytes: number;
  quarantined: number;
  orphaned: number;
  /** distinct digests referenced by metadata */
  known: number;
  knownBytes: number;
  /** referenced digests with no present file */
  missing: number;
  missingBytes: number;
}

interface RawRow {
  sha1_hex: string;
  size: number;
  sha256: string | null;
  state: ContentState;
  stored_at: string;
  verified_at: string | null;
  error: string | null;
  quarantine_file: string | null;
  orphaned_at: string | null;
  signature_status: string;
  signature_signer: string | null;
  signature_thumbprint: string | null;
  signature_detail: string | null;
  signature_checked_at: string | null;
  source: string | null;
  fingerprint: string | null;
}

const COLUMNS = `sha1_hex, size, sha256, state, stored_at, verified_at, error, quarantine_file, orphaned_at,
  signature_status, signature_signer, signature_thumbprint, signature_detail, signature_checked_at, source, fingerprint`;

const NO_SIGNATURE: SignatureColumns = { status: 'unchecked', signer: null, thumbprint: null, detail: null, checkedAt: null, source: null };

const signatureParams = (s: SignatureColumns | undefined) => {
  const v = s ?? NO_SIGNATURE;
  return { sigStatus: v.status, sigSigner: v.signer, sigThumbprint: v.thumbprint, sigDetail: v.detail, sigCheckedAt: v.checkedAt, source: v.source };
};

function toRow(r: RawRow): ContentRow {
  return {
    sha1Hex: r.sha1_hex, size: r.size, sha256: r.sha256, state: r.state, storedAt: r.stored_at,
    verifiedAt: r.verified_at, error: r.error, quarantineFile: r.quarantine_file, orphanedAt: r.orphaned_at,
    signature: {
      status: r.signature_status, signer: r.signature_signer, thumbprint: r.signature_thumbprint, detail: r.signature_detail,
      checkedAt: r.signature_checked_at, source: r.source,
    },
    fingerprint: r.fingerprint,
  };
}

export function createContentRecords(db: Db) {
  // The hot path of every content request: one indexed lookup, nothing else.
  const presentQ = db.prepare<[string], { size: number; sha256: string | null; stored_at: string; fingerprint: string | null }>(
    "SELECT size, sha256, stored_at, fingerprint FROM content WHERE sha1_hex = ? AND state = 'present'",
  );
  const knownQ = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM files WHERE sha1_hex = ? LIMIT 1');
  // Several revisions may list one digest; a row that carries a SHA-256 is the stricter expectation.
  const expectationQ = db.prepare<[string], { size: number; sha256: string | null }>(
    'SELECT size, sha256 FROM files WHERE sha1_hex = ? ORDER BY sha256 IS NULL LIMIT 1',
  );
  const getQ = db.prepare<[string], RawRow>(`SELECT ${COLUMNS} FROM content WHERE sha1_hex = ?`);
  const pageQ = db.prepare<[ContentState, string, number], RawRow>(
    `SELECT ${COLUMNS} FROM content WHERE state = ? AND sha1_hex > ? ORDER BY sha1_hex LIMIT ?`,
  );
  const upsertPresent = db.prepare(
    `INSERT INTO content (sha1_hex, size, sha256, state, stored_at, verified_at,
       signature_status, signature_signer, signature_thumbprint, signature_detail, signature_checked_at, source, fingerprint)
     VALUES (@sha1Hex, @size, @sha256, 'present', @at, @at,
       @sigStatus, @sigSigner, @sigThumbprint, @sigDetail, @sigCheckedAt, @source, @fingerprint)
     ON CONFLICT (sha1_hex) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, state = 'present',
       stored_at = excluded.stored_at, verified_at = excluded.verified_at, error = NULL, quarantine_file = NULL,
       orphaned_at = NULL, signature_status = excluded.signature_status, signature_signer = excluded.signature_signer,
       signature_thumbprint = excluded.signature_thumbprint, signature_detail = excluded.signature_detail,
       signature_checked_at = excluded.signature_checked_at, source = excluded.source, fingerprint = excluded.fingerprint`,
  );
  const upsertQuarantined = db.prepare(
    `INSERT INTO content (sha1_hex, size, sha256, state, stored_at, error, quarantine_file,
       signature_status, signature_signer, signature_thumbprint, signature_detail, signature_checked_at, source)
     VALUES (@sha1Hex, @size, @sha256, 'quarantined', @at, @error, @file,
       @sigStatus, @sigSigner, @sigThumbprint, @sigDetail, @sigCheckedAt, @source)
     ON CONFLICT (sha1_hex) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, state = 'quarantined',
       stored_at = excluded.stored_at, verified_at = NULL, error = excluded.error, quarantine_file = excluded.quarantine_file,
       signature_status = excluded.signature_status, signature_signer = excluded.signature_signer,
       signature_thumbprint = excluded.signature_thumbprint, signature_detail = excluded.signature_detail,
       signature_checked_at = excluded.signature_checked_at, source = COALESCE(excluded.source, content.source), fingerprint = NULL`,
  );
  const setVerified = db.prepare('UPDATE content SET verified_at = ?, fingerprint = COALESCE(?, fingerprint) WHERE sha1_hex = ?');
  const setFingerprintQ = db.prepare("UPDATE content SET fingerprint = ? WHERE sha1_hex = ? AND state = 'present'");
  const setSignatureQ = db.prepare(
    `UPDATE content SET signature_status = @sigStatus, signature_signer = @sigSigner, signature_thumbprint = @sigThumbprint,
       signature_detail = @sigDetail, signature_checked_at = @sigCheckedAt, source = COALESCE(@source, source)
     WHERE sha1_hex = @sha1Hex`,
  );
  const signatureCountsQ = db.prepare<[], { status: string; n: number }>(
    "SELECT signature_status AS status, COUNT(*) AS n FROM content WHERE state = 'present' GROUP BY signature_status",
  );
  const signatureFailuresQ = db.prepare<[number], RawRow>(
    `SELECT ${COLUMNS} FROM content WHERE state = 'present' AND signature_status NOT IN ('ok', 'not-signable', 'unchecked')
      ORDER BY sha1_hex LIMIT ?`,
  );
  const signatureRefusalsQ = db.prepare<[number], RawRow>(
    `SELECT ${COLUMNS} FROM content WHERE state = 'quarantined' AND error LIKE 'signature %' ORDER BY stored_at DESC LIMIT ?`,
  );
  const refusalCountsQ = db.prepare<[], { status: string; n: number }>(
    `SELECT signature_status AS status, COUNT(*) AS n FROM content WHERE state = 'quarantined' AND error LIKE 'signature %'
      GROUP BY signature_status`,
  );
  const deleteQ = db.prepare('DELETE FROM content WHERE sha1_hex = ?');
  const unreferencedQ = db.prepare<[], RawRow>(
    `SELECT ${COLUMNS} FROM content c WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.sha1_hex = c.sha1_hex)`,
  );
  const setOrphaned = db.prepare('UPDATE content SET orphaned_at = ? WHERE sha1_hex = ? AND orphaned_at IS NULL');
  const clearReferenced = db.prepare(
    `UPDATE content SET orphaned_at = NULL
      WHERE orphaned_at IS NOT NULL AND EXISTS (SELECT 1 FROM files f WHERE f.sha1_hex = content.sha1_hex)`,
  );
  const countReferencedOrphans = db.prepare<[], { n: number }>(
    `SELECT COUNT(*) AS n FROM content
      WHERE orphaned_at IS NOT NULL AND EXISTS (SELECT 1 FROM files f WHERE f.sha1_hex = content.sha1_hex)`,
  );
  const referencedOrphansQ = db.prepare<[], { sha1_hex: string }>(
    `SELECT sha1_hex FROM content
      WHERE orphaned_at IS NOT NULL AND EXISTS (SELECT 1 FROM files f WHERE f.sha1_hex = content.sha1_hex)`,
  );
  const clearOneQ = db.prepare('UPDATE content SET orphaned_at = NULL WHERE sha1_hex = ?');
  const quarantineFilesQ = db.prepare<[], { f: string }>('SELECT quarantine_file AS f FROM content WHERE quarantine_file IS NOT NULL');
  const contentCountsQ = db.prepare<[], { present: number; presentBytes: number; quarantined: number; orphaned: number }>(
    `SELECT COALESCE(SUM(state = 'present'), 0) AS present,
            COALESCE(SUM(CASE WHEN state = 'present' THEN size ELSE 0 END), 0) AS presentBytes,
            COALESCE(SUM(state = 'quarantined'), 0) AS quarantined,
            COALESCE(SUM(orphaned_at IS NOT NULL), 0) AS orphaned
       FROM content`,
  );
  const knownCountsQ = db.prepare<[], { known: number; knownBytes: number; missing: number; missingBytes: number }>(
    `WITH d AS (SELECT sha1_hex, MAX(size) AS size FROM files GROUP BY sha1_hex)
     SELECT COUNT(*) AS known, COALESCE(SUM(d.size), 0) AS knownBytes,
            COALESCE(SUM(c.sha1_hex IS NULL), 0) AS missing,
            COALESCE(SUM(CASE WHEN c.sha1_hex IS NULL THEN d.size ELSE 0 END), 0) AS missingBytes
       FROM d LEFT JOIN content c ON c.sha1_hex = d.sha1_hex AND c.state = 'present'`,
  );

  return {
    present(sha1Hex: string): { size: number; sha256: string | null; storedAt: string; fingerprint: string | null } | undefined {
      const r = presentQ.get(sha1Hex);
      return r ? { size: r.size, sha256: r.sha256, storedAt: r.stored_at, fingerprint: r.fingerprint } : undefined;
    },
    isKnown(sha1Hex: string): boolean {
      return knownQ.get(sha1Hex) !== undefined;
    },
    expectation(sha1Hex: string): MetadataExpectation | undefined {
      return expectationQ.get(sha1Hex);
    },
    get(sha1Hex: string): ContentRow | undefined {
      const r = getQ.get(sha1Hex);
      return r ? toRow(r) : undefined;
    },
    /** Rows in one state, in digest order, a page at a time so callers may write between pages. */
    page(state: ContentState, after: string, limit: number): ContentRow[] {
      return pageQ.all(state, after, limit).map(toRow);
    },
    markPresent(r: { sha1Hex: string; size: number; sha256: string | null; at: string; signature?: SignatureColumns; fingerprint?: string | null }): void {
      upsertPresent.run({ sha1Hex: r.sha1Hex, size: r.size, sha256: r.sha256, at: r.at, fingerprint: r.fingerprint ?? null, ...signatureParams(r.signature) });
    },
    markQuarantined(r: { sha1Hex: string; size: number; sha256: string | null; at: string; error: string; file: string; signature?: SignatureColumns }): void {
      upsertQuarantined.run({ sha1Hex: r.sha1Hex, size: r.size, sha256: r.sha256, at: r.at, error: r.error, file: r.file, ...signatureParams(r.signature) });
    },
    /** Both digests were just computed over the file on disk; `fingerprint` is its lstat from before the read. */
    markVerified(sha1Hex: string, at: string, fingerprint?: string): void {
      setVerified.run(at, fingerprint ?? null, sha1Hex);
    },
    setFingerprint(sha1Hex: string, fingerprint: string): void {
      setFingerprintQ.run(fingerprint, sha1Hex);
    },
    setSignature(sha1Hex: string, signature: SignatureColumns): void {
      setSignatureQ.run({ sha1Hex, ...signatureParams(signature) });
    },
    /** Present files by signature status. */
    signatureCounts(): Record<string, number> {
      return Object.fromEntries(signatureCountsQ.all().map((r) => [r.status, r.n]));
    },
    /** Present (served) files whose signature check failed: stored under policy `warn`. */
    signatureFailures(limit: number): ContentRow[] {
      return signatureFailuresQ.all(limit).map(toRow);
    },
    /** Files quarantined for their signature (policy `enforce`), newest first, and their counts by reason. */
    signatureRefusals(limit: number): { rows: ContentRow[]; byStatus: Record<string, number> } {
      return {
        rows: signatureRefusalsQ.all(limit).map(toRow),
        byStatus: Object.fromEntries(refusalCountsQ.all().map((r) => [r.status, r.n])),
      };
    },
    remove(sha1Hex: string): void {
      deleteQ.run(sha1Hex);
    },
    unreferenced(): ContentRow[] {
      return unreferencedQ.all().map(toRow);
    },
    /** Clears the mark on rows referenced again (dryRun: only counts them); rows in `keep` stay marked. */
    clearReferencedOrphans(dryRun: boolean, keep?: ReadonlySet<string>): number {
      if (!keep?.size) return dryRun ? countReferencedOrphans.get()!.n : clearReferenced.run().changes;
      const hexes = referencedOrphansQ.all().map((r) => r.sha1_hex).filter((h) => !keep.has(h));
      if (!dryRun) db.transaction(() => { for (const h of hexes) clearOneQ.run(h); }).immediate();
      return hexes.length;
    },
    markOrphaned(sha1Hexes: readonly string[], at: string): void {
      db.transaction(() => {
        for (const h of sha1Hexes) setOrphaned.run(at, h);
      }).immediate();
    },
    /** Names under .quarantine/ that a row still points at. */
    quarantineFiles(): Set<string> {
      return new Set(quarantineFilesQ.all().map((r) => r.f));
    },
    counts(): ContentCounts {
      return { ...contentCountsQ.get()!, ...knownCountsQ.get()! };
    },
  };
}

export type ContentRecords = ReturnType<typeof createContentRecords>;
