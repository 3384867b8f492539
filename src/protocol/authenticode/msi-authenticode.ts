// Authenticode for MSI/MSP packages (compound files), computed as osslsigncode
// and signtool do. The signature is the root stream "\x05DigitalSignature".
// The digest covers the content of every stream except the two signature
// streams, storage by storage in a fixed order (children sorted by a byte-wise
// comparison of their UTF-16LE names including the terminating NUL, the longer
// name first on a tie), each storage followed by its CLSID; empty streams add
// nothing. When "\x05MsiDigitalSignatureEx" is present the digest is preceded
// by a "pre-hash" of the metadata (names, sizes, state bits, timestamps) of the
// same entries in the same order.

import { createHash, type Hash } from 'node:crypto';
import type { CompoundFile, DirectoryEntry } from '../msi/compound-file.js';
import { FileStructureError } from '../msi/positioned-reader.js';

export const DIGITAL_SIGNATURE = '\x05DigitalSignature';
export const MSI_DIGITAL_SIGNATURE_EX = '\x05MsiDigitalSignatureEx';
export const MAX_MSI_SIGNATURE_BYTES = 1024 * 1024;

const isSignatureStream = (entry: DirectoryEntry): boolean =>
  entry.name === DIGITAL_SIGNATURE || entry.name === MSI_DIGITAL_SIGNATURE_EX;

const withNul = (entry: DirectoryEntry): Buffer => Buffer.concat([entry.nameBytes, Buffer.alloc(2)]);

/** osslsigncode's hashing order (memcmp over the shorter name; on a tie the longer wins). */
function compareForHash(a: DirectoryEntry, b: DirectoryEntry): number {
  const x = withNul(a);
  const y = withNul(b);
  const n = Math.min(x.length, y.length);
  const diff = Buffer.compare(x.subarray(0, n), y.subarray(0, n));
  if (diff !== 0) return diff;
  return x.length > y.length ? -1 : x.length < y.length ? 1 : 0;
}

const sortedChildren = (storage: DirectoryEntry, isRoot: boolean): DirectoryEntry[] =>
  storage.children.filter((c) => !(isRoot && isSignatureStream(c))).sort(compareForHash);

async function hashStorage(file: CompoundFile, storage: DirectoryEntry, hash: Hash, isRoot: boolean): Promise<void> {
  for (const child of sortedChildren(storage, isRoot)) {
    if (child.type === 'stream') {
      if (child.size > 0) await file.hashStream(child, hash);
    } else {
      await hashStorage(file, child, hash, false);
    }
  }
  hash.update(storage.clsid);
}

function prehashMetadata(entry: DirectoryEntry, hash: Hash): void {
  if (entry.type !== 'root') hash.update(entry.nameBytes);
  hash.update(entry.type === 'stream' ? entry.sizeField.subarray(0, 4) : entry.clsid);
  hash.update(entry.stateBits);
  if (entry.type !== 'root') {
    hash.update(entry.creationTime);
    hash.update(entry.modifiedTime);
  }
}

function prehashStorage(storage: DirectoryEntry, hash: Hash, isRoot: boolean): void {
  prehashMetadata(storage, hash);
  for (const child of sortedChildren(storage, isRoot)) {
    if (child.type === 'stream') prehashMetadata(child, hash);
    else prehashStorage(child, hash, false);
  }
}

const rootStream = (file: CompoundFile, name: string): DirectoryEntry | undefined => {
  const found = file.root.children.filter((c) => c.name === name);
  if (found.length > 1) throw new FileStructureError(`compound file: duplicate ${JSON.stringify(name)} streams`);
  if (found[0] && found[0].type !== 'stream') throw new FileStructureError(`compound file: ${JSON.stringify(name)} is not a stream`);
  return found[0];
};

/** The package's Authenticode digest with node:crypto `algorithm`. */
export async function msiAuthenticodeDigest(file: CompoundFile, algorithm: string): Promise<Buffer> {
  const hash = createHash(algorithm);
  const ex = rootStream(file, MSI_DIGITAL_SIGNATURE_EX);
  if (ex) {
    const prehash = createHash(algorithm);
    // Like osslsigncode, the stored value must at least have the digest's size.
    if (ex.size !== prehash.copy().digest().length) {
      throw new FileStructureError('MsiDigitalSignatureEx does not have the size of the signature digest');
    }
    prehashStorage(file.root, prehash, true);
    hash.update(prehash.digest());
  }
  await hashStorage(file, file.root, hash, true);
  return hash.digest();
}

/** The DER SignedData in "\x05DigitalSignature", or undefined when the package is unsigned. */
export async function msiSignature(file: CompoundFile): Promise<Buffer | undefined> {
  const stream = rootStream(file, DIGITAL_SIGNATURE);
  if (!stream) return undefined;
  if (stream.size === 0) throw new FileStructureError('empty DigitalSignature stream');
  return file.readStream(stream, MAX_MSI_SIGNATURE_BYTES);
}
