import { randomUUID } from 'node:crypto';
import { contentPath } from '../../core/content/content-path.js';
import { createReadStream } from 'node:fs';
import { lstat, open, rm } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { DomainError } from '../../core/errors.js';
import { parseUpdateDocument } from '../../core/catalog/parse-update.js';
import type { ParsedUpdate } from '../../core/catalog/update-model.js';
import { buildPublishedUpdate, expiredRevision } from '../../core/publishing/published-update.js';
import { parseManifest, payloadKindOf, type ManifestOverrides, type PayloadKind } from '../../core/publishing/manifest.js';
import { checkSpecForPayload } from '../../core/publishing/payload-facts.js';
import { classificationCategoryDocument } from '../../core/publishing/category-documents.js';
import { readMsiProperties } from '../../protocol/msi/msi-properties.js';
import type { CatalogStore } from '../../store/catalog.store.js';
import type { Db } from '../../store/database.js';
import { createPublishedUpdatesStore, type PublishedRevision } from '../../store/published-updates.store.js';
import type { Logger } from '../../logger.js';
import type { ContentStore } from '../content-store.service.js';
import { contentLayout } from '../content/content-layout.js';
import { loadPublishingSigner, type PublishingCertInfo } from '../signing/publishing-cert.js';
import { buildSignedCab, type PhaseProgress } from './publish-cab.js';
import { ingestPublishedCab } from './publish-ingest.js';
import { categoryDocumentsToWrite, describeCategories } from './publish-categories.js';

// `wsus publish`: a local payload (MSI, MSP, EXE, MSU) becomes an update this server offers
// like any synchronized one. Order matters for crash safety: everything that can be refused is
// checked first, the signed CAB enters the content store next (verified like any content), and
// only then do the documents go into the catalog, in one transaction. A crash in between leaves
// an orphaned content file for cleanup, never metadata whose file is missing.

export interface PublishDeps {
  db: Db;
  catalog: CatalogStore;
  contentStore: ContentStore;
  log: Logger;
  clock: () => Date;
  dataDir: string;
  contentDir: string;
  /** tests only: sign with this instead of DATA/signing (e.g. a certificate the trust store lacks) */
  signer?: ReturnType<typeof loadPublishingSigner>;
}

export interface PublishRequest {
  payloadPath: string;
  /** the parsed manifest file; undefined: flags only */
  manifest: unknown;
  overrides: ManifestOverrides;
  /** publish a new revision of this (locally published) update instead of a new update */
  revise?: string;
  timestampUrl?: string;
  onProgress?: PhaseProgress;
  signal?: AbortSignal;
}

export interface PublishResult {
  updateId: string;
  revisionNumber: number;
  title: string;
  kind: PayloadKind;
  vendor: string;
  product: string;
  classification: string;
  payload: { fileName: string; size: number };
  cab: { fileName: string; size: number; sha1Hex: string; sha1: string; sha256: string; urlPath: string; stored: 'stored' | 'already-present' };
  signer: { subject: string; thumbprint: string; notAfter: string };
  timestamped: boolean;
  /** category documents written into the catalog by this publish (new or changed) */
  categoriesWritten: Array<{ updateId: string; title: string; type: string }>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function refuse(field: string, message: string): DomainError {
  return new DomainError('InvalidInput', field, message);
}

function requireGuid(id: string, what: string): string {
  if (!GUID.test(id)) throw refuse(what, `${what}: ${JSON.stringify(id.slice(0, 60))} is not an update id (GUID)`);
  return id.toLowerCase();
}

/** The publishing signer, or a refusal that says what to do (never mentions the key). */
export function publishingSignerFor(dataDir: string, now: Date): ReturnType<typeof loadPublishingSigner> {
  try {
    return loadPublishingSigner(dataDir, now);
  } catch (e) {
    if (e instanceof DomainError) {
      const hint = e.code === 'NotFound' && !/wsus signing/.test(e.message) ? ': run wsus signing create (or wsus signing import) first' : '';
      throw refuse('signing', `no usable publishing certificate: ${e.message}${hint}`);
    }
    throw e;
  }
}

async function readHead(path: string): Promise<{ head: Uint8Array; size: number }> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    throw refuse('payload', `cannot read the payload ${path}`);
  }
  if (st.isSymbolicLink()) throw refuse('payload', `${path}: symbolic links are not followed`);
  if (!st.isFile()) throw refuse('payload', `${path}: not a regular file`);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return { head: head.subarray(0, bytesRead), size: st.size };
  } finally {
    await fh.close();
  }
}

function parseOwn(xml: string, what: string): ParsedUpdate {
  try {
    return parseUpdateDocument(xml);
  } catch (e) {
    // Our own document generator produced something the catalog cannot read: a bug, not bad input.
    throw new Error(`the generated ${what} document does not parse: ${(e as Error).message}`);
  }
}

/** Which revision number a publish writes, and for which update id. */
function identityFor(published: ReturnType<typeof createPublishedUpdatesStore>, revise: string | undefined): { updateId: string; revisionNumber: number } {
  if (revise === undefined) return { updateId: randomUUID(), revisionNumber: 1 };
  const updateId = requireGuid(revise, '--revise');
  if (!published.latest(updateId)) {
    throw refuse('--revise', `update ${updateId} was not published by this server (see wsus publish --list); only locally published updates can be revised`);
  }
  return { updateId, revisionNumber: (published.maxRevision(updateId) ?? 0) + 1 };
}

export async function publishUpdate(deps: PublishDeps, req: PublishRequest): Promise<PublishResult> {
  const now = deps.clock();
  const published = createPublishedUpdatesStore(deps.db);
  // 1. Everything that can be refused, before anything is written.
  const spec = parseManifest(req.manifest ?? {}, req.overrides);
  const { head, size: payloadSize } = await readHead(req.payloadPath);
  const fileName = basename(req.payloadPath);
  const kind = payloadKindOf(fileName, head);
  const msi = kind === 'msi' || kind === 'msp' ? await readMsiPropertiesOrRefuse(req.payloadPath, kind) : undefined;
  // The spec against the payload (e.g. an EXE needs an "installed" rule) before any CAB is built.
  checkSpecForPayload(spec, { fileName, kind, ...(msi ? { msi } : {}) });
  const { updateId, revisionNumber } = identityFor(published, req.revise);
  const signer = deps.signer ?? publishingSignerFor(deps.dataDir, now);

  // 2. The signed CAB in the store's temp area; removed whatever happens.
  const tmpDir = contentLayout(deps.contentDir).tmpDir;
  const cab = await buildSignedCab(tmpDir, { path: req.payloadPath, memberName: fileName, size: payloadSize }, signer, {
    ...(req.timestampUrl ? { timestampUrl: req.timestampUrl } : {}),
    signingTime: now,
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  try {
    const cabName = `${basename(fileName, extname(fileName))}.cab`;
    const docs = buildPublishedUpdate(spec, {
      updateId, revisionNumber, creationDate: now,
      payload: { fileName, kind, ...(msi ? { msi } : {}) },
      cab: { fileName: cabName, size: cab.size, sha1Base64: cab.sha1Base64, sha256Base64: cab.sha256Base64 },
    });
    const update = parseOwn(docs.update, 'update');
    // The classification too, when this catalog never synced it (a stand-in a later sync replaces).
    const classificationDoc = published.catalogCurrent(spec.classification.id) ? [] : [classificationCategoryDocument(spec.classification.key)];
    const categories = [...classificationDoc, ...docs.categories].map((c) => ({ ...c, parsed: parseOwn(c.xml, `category ${c.updateId}`) }));
    const names = describeCategories(update, categories.map((c) => c.parsed));
    const toWrite = categoryDocumentsToWrite(published, categories);

    // 3. Content first (verified by the store under the 'published' signature policy) ...
    req.onProgress?.('store', 0, cab.size);
    const stored = await ingestPublishedCab(deps.contentStore, createReadStream(cab.path), cab, req.signal);
    req.onProgress?.('store', cab.size, cab.size);

    // 4. ... then every document in one transaction.
    deps.db.transaction(() => {
      const at = deps.clock();
      for (const c of toWrite) deps.catalog.insert(c.parsed, c.xml, at);
      // Two publishes racing for the same --revise number: the second must not claim the first's revision.
      if (deps.catalog.insert(update, docs.update, at).outcome !== 'added') {
        throw new DomainError('Conflict', 'revise', `revision ${revisionNumber} of ${updateId} was published meanwhile; run the command again`);
      }
      published.record({
        updateId, revisionNumber, state: 'published', title: update.title, vendor: names.vendor, product: names.product,
        classification: names.classification, kind, fileName: cabName, sha1Hex: cab.sha1Hex, size: cab.size,
        signerThumbprint: signer.info.thumbprint, publishedAt: at.toISOString(),
      });
      deps.catalog.finishBatch(at);
    }).immediate();

    const result: PublishResult = {
      updateId, revisionNumber, title: update.title, kind, ...names,
      payload: { fileName, size: payloadSize },
      cab: {
        fileName: cabName, size: cab.size, sha1Hex: cab.sha1Hex, sha1: cab.sha1Base64, sha256: cab.sha256Base64,
        urlPath: contentPath(cab.sha1Hex, cabName), stored: stored.outcome,
      },
      signer: signerSummary(signer.info),
      timestamped: !!req.timestampUrl,
      categoriesWritten: toWrite.map((c) => ({ updateId: c.updateId, title: c.parsed.title, type: c.parsed.categoryType ?? c.parsed.updateType })),
    };
    deps.log.info('update published', {
      updateId, revision: revisionNumber, title: update.title, kind, sha1: cab.sha1Hex, size: cab.size,
      signer: signer.info.thumbprint, timestamped: result.timestamped, categoriesWritten: toWrite.length,
    });
    return result;
  } finally {
    await rm(cab.path, { force: true });
  }
}

function signerSummary(info: PublishingCertInfo): PublishResult['signer'] {
  return { subject: info.subject, thumbprint: info.thumbprint, notAfter: info.notAfter };
}

async function readMsiPropertiesOrRefuse(path: string, kind: PayloadKind): Promise<Record<string, string>> {
  try {
    return await readMsiProperties(path);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw refuse('payload', `the ${kind.toUpperCase()} package cannot be read: ${(e as Error).message}`);
  }
}

export interface ExpireResult {
  updateId: string;
  revisionNumber: number;
  title: string;
}

/** A new revision of a locally published update with PublicationState="Expired": clients drop it. */
export function expirePublishedUpdate(deps: Pick<PublishDeps, 'db' | 'catalog' | 'log' | 'clock'>, updateIdRaw: string): ExpireResult {
  const updateId = requireGuid(updateIdRaw, '--expire');
  const published = createPublishedUpdatesStore(deps.db);
  const last = published.latest(updateId);
  if (!last) throw refuse('--expire', `update ${updateId} was not published by this server (see wsus publish --list); only locally published updates can be expired here`);
  const current = published.catalogCurrent(updateId);
  if (!current) throw new Error(`update ${updateId} is recorded as published but is missing from the catalog`);
  if (current.publicationState === 'Expired') throw new DomainError('Conflict', '--expire', `update ${updateId} is already expired (revision ${current.revisionNumber})`);
  const revisionNumber = (published.maxRevision(updateId) ?? current.revisionNumber) + 1;
  const xml = expiredRevision(current.document, revisionNumber);
  const parsed = parseOwn(xml, 'expired revision');
  if (parsed.publicationState !== 'Expired' || parsed.identity.revisionNumber !== revisionNumber) {
    throw new Error('the expired revision document does not say Expired with the next revision number');
  }
  deps.db.transaction(() => {
    const at = deps.clock();
    deps.catalog.insert(parsed, xml, at);
    published.record({
      ...last, revisionNumber, state: 'expired', title: parsed.title, kind: null, fileName: null, sha1Hex: null, size: null,
      signerThumbprint: null, publishedAt: at.toISOString(),
    });
    deps.catalog.finishBatch(at);
  }).immediate();
  deps.log.info('published update expired', { updateId, revision: revisionNumber, title: parsed.title });
  return { updateId, revisionNumber, title: parsed.title };
}

export function listPublishedUpdates(db: Db): PublishedRevision[] {
  return createPublishedUpdatesStore(db).list();
}
