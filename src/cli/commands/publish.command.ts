import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { DomainError } from '../../core/errors.js';
import type { ManifestOverrides } from '../../core/publishing/manifest.js';
import { createContentStore } from '../../services/content-store.service.js';
import {
  expirePublishedUpdate, listPublishedUpdates, publishUpdate, type PublishResult,
} from '../../services/publishing/publish.service.js';
import type { PublishPhase } from '../../services/publishing/publish-cab.js';
import type { PublishedRevision } from '../../store/published-updates.store.js';
import { printJson } from '../admin-client.js';
import { flag, parseArgs, UsageError } from '../args.js';
import { openDataDir } from '../context.js';
import { rateProgress } from '../progress.js';
import { shortTime, textTable } from '../text-table.js';

export const publishHelp = `wsus publish PAYLOAD [--manifest FILE] [--title T] [--vendor V] [--product P]
    [--classification NAME] [--command ARGS] [--timestamp-url URL] [--revise UPDATEID] [--json]
wsus publish --expire UPDATEID [--json]
wsus publish --list [--json]
  Publishes your own update: PAYLOAD (.msi, .msp, .exe or .msu) is put into a CAB signed with
  the publishing certificate (wsus signing create|import), stored in the content store, and
  offered to clients like any synchronized update once approved. The manifest (JSON) describes
  title, vendor, product, classification, applicability and install command; flags override it.
  MSI/MSP product code and version are read from the package when the manifest lacks them.
  --timestamp-url (default: config publishingTimestampUrl) adds an RFC 3161 timestamp so the
  signature outlives the certificate.
  --revise publishes a new revision of an update published here; --expire withdraws one.
  Safe while the server runs (same --data DIR). Exit 0 published, 2 refused (manifest, flags,
  payload or certificate), 1 failed. Nothing is published unless every step succeeds.
  Example: wsus publish ./agent-7.2.msi --manifest agent.json --timestamp-url http://timestamp.example`;

export interface PublishIo { out: Writable; err: Writable & { isTTY?: boolean } }
const stdio: PublishIo = { out: process.stdout, err: process.stderr };

/** Payloads smaller than this finish before a progress line would help. */
const PROGRESS_FROM_BYTES = 16 * 1024 * 1024;

function refused(message: string): DomainError {
  return new DomainError('InvalidInput', '', message);
}

/** The manifest file as JSON; missing or malformed is a refusal (exit 2), not a crash. */
export function readManifestFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw refused(`cannot read the manifest ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (e) {
    throw refused(`the manifest ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function overridesOf(args: ReturnType<typeof parseArgs>): ManifestOverrides {
  const o: Record<string, string> = {};
  for (const k of ['title', 'vendor', 'product', 'classification', 'command'] as const) {
    const v = flag(args, k);
    if (v !== undefined) o[k] = v;
  }
  return o as ManifestOverrides;
}

const PHASE_LABEL: Record<PublishPhase, string> = { cab: 'publish: CAB', sign: 'publish: sign', hash: 'publish: digest', store: 'publish: store' };

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} bytes`;
}

export function formatPublished(r: PublishResult, dataFlag: string): string {
  const data = dataFlag ? ` --data ${dataFlag}` : '';
  return `published "${r.title}"
  update id:       ${r.updateId}
  revision:        ${r.revisionNumber}
  vendor/product:  ${r.vendor} / ${r.product}
  classification:  ${r.classification}
  payload:         ${r.payload.fileName} (${r.kind}, ${mib(r.payload.size)})
  file:            ${r.cab.fileName} (${mib(r.cab.size)})${r.cab.stored === 'already-present' ? ' (identical file already stored)' : ''}
  SHA-1:           ${r.cab.sha1Hex}
  SHA-256:         ${Buffer.from(r.cab.sha256, 'base64').toString('hex')}
  content URL:     ${r.cab.urlPath}
  signed by:       ${r.signer.subject} (thumbprint ${r.signer.thumbprint}, valid until ${r.signer.notAfter})${r.timestamped ? ', timestamped' : ', not timestamped'}
${r.categoriesWritten.map((c) => `  category:        ${c.type} "${c.title}" (${c.updateId}) written\n`).join('')}Next: approve it, e.g. wsus approve ${r.updateId} --group "All Computers"   (admin API; or add --local${data})
      Clients must trust the publishing certificate: wsus signing export-cert --out FILE shows how.
`;
}

function formatList(rows: readonly PublishedRevision[]): string {
  if (!rows.length) return 'no updates published on this server (wsus publish PAYLOAD publishes one)\n';
  return textTable(['UPDATE ID', 'REV', 'STATE', 'PUBLISHED', 'FILE', 'VENDOR / PRODUCT', 'TITLE'], rows.map((r) => [
    r.updateId, String(r.revisionNumber), r.state, shortTime(r.publishedAt), r.fileName ?? '-', `${r.vendor} / ${r.product}`, r.title,
  ]));
}

export async function publishCommand(argv: string[], io: PublishIo = stdio): Promise<number> {
  const args = parseArgs(argv,
    ['data', 'manifest', 'title', 'vendor', 'product', 'classification', 'command', 'timestamp-url', 'revise', 'expire'],
    ['json', 'list']);
  const json = args.flags.get('json') === true;
  const expire = flag(args, 'expire');
  const list = args.flags.get('list') === true;
  const publishFlags = ['manifest', 'title', 'vendor', 'product', 'classification', 'command', 'timestamp-url', 'revise'].filter((f) => args.flags.has(f));
  if (expire !== undefined || list) {
    if (expire !== undefined && list) throw new UsageError('--expire and --list do not go together');
    if (args.positional.length) throw new UsageError(`${list ? '--list' : '--expire'} takes no payload`);
    if (publishFlags.length) throw new UsageError(`--${publishFlags[0]} applies to publishing a payload, not to ${list ? '--list' : '--expire'}`);
  } else if (args.positional.length !== 1) {
    throw new UsageError('usage: wsus publish PAYLOAD [--manifest FILE] [flags] | --expire UPDATEID | --list (see wsus help)');
  }
  const timestampUrl = flag(args, 'timestamp-url');
  if (timestampUrl !== undefined && !/^https?:\/\/[^\s]+$/i.test(timestampUrl)) throw new UsageError('--timestamp-url must be an http:// or https:// URL');
  // Read before opening anything: a bad manifest file changes nothing.
  const manifestPath = flag(args, 'manifest');
  const manifest = manifestPath !== undefined ? readManifestFile(resolve(manifestPath)) : undefined;

  const ctx = openDataDir(flag(args, 'data'));
  try {
    const clock = () => new Date();
    if (list) {
      const rows = listPublishedUpdates(ctx.db);
      if (json) printJson(rows, io.out);
      else io.out.write(formatList(rows));
      return 0;
    }
    if (expire !== undefined) {
      const r = expirePublishedUpdate({ ...ctx, clock }, expire);
      if (json) printJson(r, io.out);
      else io.out.write(`expired "${r.title}" (${r.updateId}) as revision ${r.revisionNumber}: clients stop being offered it at their next scan\n`);
      return 0;
    }
    // The signature policy applies here as in the server: our own CAB must verify against the trust store.
    const store = createContentStore({
      db: ctx.db, dir: ctx.config.contentDir, log: ctx.log, clock,
      signatures: { policy: ctx.config.contentSignatures, dataDir: ctx.config.dataDir },
    });
    const progress = rateProgress(io.err);
    let progressShown = false;
    try {
      const r = await publishUpdate({
        db: ctx.db, catalog: ctx.catalog, contentStore: store, log: ctx.log, clock,
        dataDir: ctx.config.dataDir, contentDir: ctx.config.contentDir,
      }, {
        payloadPath: resolve(args.positional[0]!),
        manifest,
        overrides: overridesOf(args),
        ...(flag(args, 'revise') !== undefined ? { revise: flag(args, 'revise')! } : {}),
        ...(timestampUrl ?? ctx.config.publishingTimestampUrl ? { timestampUrl: timestampUrl ?? ctx.config.publishingTimestampUrl! } : {}),
        onProgress: (phase, done, total) => {
          if (total >= PROGRESS_FROM_BYTES || (phase === 'sign' && progressShown)) {
            progressShown = true;
            progress.update(PHASE_LABEL[phase], done, total);
          }
        },
      });
      progress.end();
      if (json) printJson(r, io.out);
      else io.out.write(formatPublished(r, flag(args, 'data') ?? ''));
      return 0;
    } finally {
      progress.end();
      await store.close();
    }
  } finally {
    ctx.db.close();
  }
}
