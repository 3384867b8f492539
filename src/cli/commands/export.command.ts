import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { MANIFEST_NAME, parseManifest, type TransferManifest } from '../../core/transfer/transfer-manifest.js';
import { readXml } from '../../protocol/xml/strict-xml-reader.js';
import { indexTar, readMember } from '../../services/transfer/tar-file.js';
import { printJson } from '../admin-client.js';
import { API_BOOL_FLAGS, API_FLAGS, withAdminSession } from '../admin-session.js';
import { flag, parseArgs, UsageError } from '../args.js';

// `wsus export`: a signed package for a disconnected server (GET /api/export, saved to a file).

export const exportHelp = `wsus export --out FILE [--since ANCHOR|DATE] [--approvals] [--content none|approved|all] [--force] [--json]
  Writes one package (a tar) for a disconnected server: the current update documents (all, or with
  --since only those changed after the anchor an earlier export printed, or ingested since a
  date), with --approvals the computer groups, approvals and declines, with --content the files
  of approved updates (approved) or every stored file (all). Its manifest lists every member's
  size and SHA-256 and is signed (XML-DSig) with transfer.signingCert / transfer.signingKey.
  Import it on the other server with wsus import FILE. Needs an admin token.
  Example: wsus export --out /media/usb/wsus-2026-05.tar --approvals --content approved
           wsus export --out /media/usb/delta.tar --since 18422 --approvals --content approved`;

export interface ExportIo { out: Writable; err: Writable }

/** The manifest of a package file, read without verifying it (for the summary of our own export). */
export async function readPackageManifest(file: string): Promise<TransferManifest> {
  const entries = await indexTar(file);
  const m = entries.find((e) => e.name === MANIFEST_NAME);
  if (!m) throw new Error(`${file} has no manifest.xml`);
  const root = readXml((await readMember(file, m)).toString('utf8'), { maxDepth: 12, maxElements: 5_000_000, maxAttributes: 16 });
  root.children = root.children.filter((c) => c.local !== 'Signature');
  return parseManifest(root);
}

export async function exportCommand(argv: string[], io: ExportIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const args = parseArgs(argv, [...API_FLAGS, 'out', 'since', 'content'], ['json', 'approvals', 'force', ...API_BOOL_FLAGS]);
  if (args.positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])} (the file goes after --out)`);
  const outRaw = flag(args, 'out');
  if (!outRaw) throw new UsageError('export needs --out FILE');
  const out = resolve(outRaw);
  if (existsSync(out) && args.flags.get('force') !== true) throw new UsageError(`${out} already exists (use --force to replace it)`);
  const content = flag(args, 'content') ?? 'none';
  if (!['none', 'approved', 'all'].includes(content)) throw new UsageError('--content must be none, approved or all');
  const since = flag(args, 'since');
  const { bytes } = await withAdminSession(args, (c) => c.download('/api/export', {
    since, approvals: args.flags.get('approvals') === true ? true : undefined, content,
  }, out));
  const m = await readPackageManifest(out);
  if (args.flags.get('json')) {
    printJson({ file: out, bytes, packageId: m.packageId, kind: m.kind, anchor: m.anchor, createdAt: m.createdAt, counts: m.counts, content: m.content, approvals: m.approvals }, io.out);
  } else {
    const c = m.counts;
    io.out.write(`wrote ${out} (${(bytes / 1024 / 1024).toFixed(1)} MB): ${m.kind} package ${m.packageId}\n`
      + `  ${c.updates} update documents${m.approvals ? `, ${c.groups} groups, ${c.approvals} approvals, ${c.declined} declined` : ''}`
      + `${m.content !== 'none' ? `, ${c.contentFiles} content files (${(c.contentBytes / 1024 / 1024).toFixed(1)} MB)` : ''}\n`
      + `  anchor ${m.anchor}: the next delta is  wsus export --since ${m.anchor} ...\n`);
  }
  return 0;
}
