import { createHash, type X509Certificate } from 'node:crypto';
import { DomainError } from '../../core/errors.js';
import { TarFormatError } from '../../core/transfer/tar-format.js';
import { TargetingDocumentError, parseTargetingDocument, type TargetingDocument } from '../../core/transfer/targeting-document.js';
import { MANIFEST_NAME, TARGETING_NAME, compareMembers, type TransferManifest } from '../../core/transfer/transfer-manifest.js';
import { verifyManifest, type VerifiedManifest } from './manifest-signature.js';
import { indexTar, openPackage, readMember, type TarEntry } from './tar-file.js';

// Everything an import checks before it changes anything: the tar is well-formed and holds
// only safe names; the manifest is signed by a trusted certificate; the package holds exactly
// the members the manifest lists, each of the listed size and SHA-256; the targeting document
// (if any) is valid. Any failure is DomainError('InvalidInput') with the reason.

export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export interface VerifiedPackage extends VerifiedManifest {
  path: string;
  /** lower-case hex SHA-256 of manifest.xml as stored: identifies this exact package */
  manifestSha256: string;
  entries: Map<string, TarEntry>;
  targeting: TargetingDocument | null;
}

const refuse = (why: string): DomainError => new DomainError('InvalidInput', 'package', `package refused: ${why}`);

export async function verifyPackage(
  path: string,
  trusted: readonly X509Certificate[],
  now: Date,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<VerifiedPackage> {
  let index: TarEntry[];
  try {
    index = await indexTar(path);
  } catch (e) {
    if (e instanceof TarFormatError) throw refuse(e.message);
    throw e;
  }
  const manifestEntry = index.find((e) => e.name === MANIFEST_NAME);
  if (!manifestEntry) throw refuse('it has no manifest.xml (not an export package)');
  if (manifestEntry.size > MAX_MANIFEST_BYTES) throw refuse('manifest.xml is larger than any manifest this server writes');
  const manifestBytes = await readMember(path, manifestEntry);
  const verified = verifyManifest(manifestBytes.toString('utf8'), trusted, now);
  const manifest: TransferManifest = verified.manifest;
  const problems = compareMembers(manifest, index);
  if (problems.length) throw refuse(problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : ''));
  const entries = new Map(index.map((e) => [e.name, e]));
  const total = manifest.members.reduce((n, m) => n + m.size, 0);
  let done = 0;
  onProgress?.(0, total);
  const reader = await openPackage(path);
  try {
    for (const m of manifest.members) {
      const actual = await reader.sha256(entries.get(m.name)!, signal);
      if (actual !== m.sha256) throw refuse(`member ${m.name} does not match its SHA-256 in the manifest (changed after signing)`);
      done += m.size;
      onProgress?.(done, total);
    }
  } finally {
    await reader.close();
  }
  let targeting: TargetingDocument | null = null;
  if (manifest.approvals) {
    try {
      targeting = parseTargetingDocument((await readMember(path, entries.get(TARGETING_NAME)!)).toString('utf8'));
    } catch (e) {
      if (e instanceof TargetingDocumentError) throw refuse(e.message);
      throw e;
    }
  }
  return {
    ...verified,
    path,
    manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
    entries,
    targeting,
  };
}
