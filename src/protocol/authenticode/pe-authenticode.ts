// Authenticode digest and signature extraction for PE images, as Windows and
// osslsigncode compute them: the whole file in order, minus the CheckSum field,
// the Certificate Table data-directory entry and the certificate table itself
// (which must end the file, see pe-image.ts). An unsigned image is hashed as if
// zero-padded to 8 bytes, because signing pads it so before appending the table.

import { createHash } from 'node:crypto';
import { FileStructureError, type PositionedReader } from '../msi/positioned-reader.js';
import type { PeLayout } from './pe-image.js';

const WIN_CERT_REVISION_2_0 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
const WIN_CERTIFICATE_HEADER = 8;
const MAX_CERT_ENTRIES = 64;
/** A SignedData with its certificates and countersignatures is a few KiB; refuse to buffer more. */
export const MAX_PE_SIGNATURE_BYTES = 1024 * 1024;

/** The Authenticode digest of the image with node:crypto `algorithm` (e.g. 'sha256'). */
export async function peAuthenticodeDigest(reader: PositionedReader, layout: PeLayout, algorithm: string): Promise<Buffer> {
  const hash = createHash(algorithm);
  const end = layout.certTable?.offset ?? reader.size;
  await reader.hashRange(hash, 0, layout.checksumAt);
  await reader.hashRange(hash, layout.checksumAt + 4, layout.certDirectoryAt);
  await reader.hashRange(hash, layout.certDirectoryAt + 8, end);
  if (!layout.certTable && end % 8 !== 0) hash.update(Buffer.alloc(8 - (end % 8)));
  return hash.digest();
}

/**
 * The DER SignedData of the first WIN_CERTIFICATE of revision 2.0 and type
 * PKCS_SIGNED_DATA (what Windows verifies), or undefined when the image has no
 * certificate table. Entries are 8-byte aligned; each length includes its header.
 */
export async function peSignature(reader: PositionedReader, layout: PeLayout): Promise<Buffer | undefined> {
  const table = layout.certTable;
  if (!table) return undefined;
  const end = table.offset + table.size;
  let position = table.offset;
  for (let entries = 0; position < end; entries++) {
    if (entries >= MAX_CERT_ENTRIES) throw new FileStructureError('PE: too many certificate table entries');
    if (position + WIN_CERTIFICATE_HEADER > end) throw new FileStructureError('PE: truncated WIN_CERTIFICATE header');
    const header = await reader.read(position, WIN_CERTIFICATE_HEADER);
    const length = header.readUInt32LE(0);
    const revision = header.readUInt16LE(4);
    const type = header.readUInt16LE(6);
    if (length < WIN_CERTIFICATE_HEADER || position + length > end) {
      throw new FileStructureError('PE: WIN_CERTIFICATE length does not fit the certificate table');
    }
    if (revision === WIN_CERT_REVISION_2_0 && type === WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
      const size = length - WIN_CERTIFICATE_HEADER;
      if (size === 0) throw new FileStructureError('PE: empty WIN_CERTIFICATE');
      if (size > MAX_PE_SIGNATURE_BYTES) throw new FileStructureError('PE: signature too large');
      return reader.read(position + WIN_CERTIFICATE_HEADER, size);
    }
    position += Math.ceil(length / 8) * 8;
  }
  throw new FileStructureError('PE: the certificate table holds no Authenticode (PKCS#7) certificate');
}
