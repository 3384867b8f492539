// The parts of a PE/COFF image that Authenticode needs: where the CheckSum
// field and the Certificate Table data-directory entry lie (both excluded from
// the digest) and where the attribute certificate table is. Parsed strictly and
// from a few header reads only (see PositionedReader), so it costs the same for
// a 2 GB installer as for a 2 KB one.

import { FileStructureError, type PositionedReader } from '../msi/positioned-reader.js';

export interface PeLayout {
  readonly peOffset: number;
  readonly pe32plus: boolean;
  /** File offset of OptionalHeader.CheckSum (4 bytes). */
  readonly checksumAt: number;
  /** File offset of the Certificate Table data-directory entry (8 bytes: file offset, size). */
  readonly certDirectoryAt: number;
  /** End of the section table: nothing may be hashed out of order before this. */
  readonly headersEnd: number;
  /** The attribute certificate table, when the image has one. */
  readonly certTable?: { readonly offset: number; readonly size: number };
}

const DOS_HEADER = 64;
const COFF_HEADER = 20;
const SECTION_HEADER = 40;
const MAX_SECTIONS = 96; // the Windows loader's limit for images
const CERT_DIRECTORY_INDEX = 4;

const fail: (why: string) => never = (why) => {
  throw new FileStructureError(`PE: ${why}`);
};

/** 'MZ' followed by a PE signature at e_lfanew, judged from the first bytes only (undefined: cannot tell yet). */
export function looksLikePe(head: Uint8Array): boolean | undefined {
  if (head.length < 2 || head[0] !== 0x4d || head[1] !== 0x5a) return false;
  if (head.length < DOS_HEADER) return undefined;
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const at = view.readUInt32LE(60);
  if (at + 4 > head.length) return undefined;
  return view.readUInt32LE(at) === 0x00004550;
}

/**
 * The image layout, or null when the file is not a PE image at all ('MZ'
 * without a PE signature: a DOS program or another MZ format). Throws
 * FileStructureError when it claims to be a PE but is malformed or truncated.
 */
export async function readPeLayout(reader: PositionedReader): Promise<PeLayout | null> {
  if (reader.size < DOS_HEADER) {
    if (reader.size >= 2 && (await reader.read(0, 2)).toString('latin1') === 'MZ') fail('truncated DOS header');
    return null;
  }
  const dos = await reader.read(0, DOS_HEADER);
  if (dos.toString('latin1', 0, 2) !== 'MZ') return null;
  const peOffset = dos.readUInt32LE(60);
  if (peOffset < DOS_HEADER || peOffset % 4 !== 0) {
    // e_lfanew inside the DOS header or unaligned: a PE loader would not take it either.
    return null;
  }
  if (peOffset + 4 > reader.size) fail('e_lfanew points past the end of the file');
  if ((await reader.read(peOffset, 4)).readUInt32LE(0) !== 0x00004550) return null;

  const coffAt = peOffset + 4;
  const coff = await reader.read(coffAt, COFF_HEADER);
  const sections = coff.readUInt16LE(2);
  const optionalSize = coff.readUInt16LE(16);
  if (sections === 0 || sections > MAX_SECTIONS) fail(`unsupported number of sections ${sections}`);

  const optionalAt = coffAt + COFF_HEADER;
  if (optionalSize < 2) fail('no optional header');
  const optional = await reader.read(optionalAt, optionalSize);
  const magic = optional.readUInt16LE(0);
  if (magic !== 0x10b && magic !== 0x20b) fail(`unknown optional header magic 0x${magic.toString(16)}`);
  const pe32plus = magic === 0x20b;
  // PE32 and PE32+ differ in the width of ImageBase and the stack/heap sizes.
  const rvaCountAt = pe32plus ? 108 : 92;
  const directoriesAt = rvaCountAt + 4;
  if (optionalSize < directoriesAt) fail('optional header too small');
  const rvaCount = optional.readUInt32LE(rvaCountAt);
  if (rvaCount <= CERT_DIRECTORY_INDEX) fail('no Certificate Table data directory');
  if (optionalSize < directoriesAt + Math.min(rvaCount, 16) * 8) fail('data directories overrun the optional header');
  const fileAlignment = optional.readUInt32LE(36);
  const sizeOfHeaders = optional.readUInt32LE(60);
  if (fileAlignment !== 0 && (fileAlignment & (fileAlignment - 1)) !== 0) fail('FileAlignment is not a power of two');

  const headersEnd = optionalAt + optionalSize + sections * SECTION_HEADER;
  if (headersEnd > reader.size) fail('section table runs past the end of the file');
  if (sizeOfHeaders > reader.size) fail('SizeOfHeaders exceeds the file');

  const certDirectoryOffset = directoriesAt + CERT_DIRECTORY_INDEX * 8;
  const certOffset = optional.readUInt32LE(certDirectoryOffset);
  const certSize = optional.readUInt32LE(certDirectoryOffset + 4);
  const layout = {
    peOffset,
    pe32plus,
    checksumAt: optionalAt + 64,
    certDirectoryAt: optionalAt + certDirectoryOffset,
    headersEnd,
  };
  if (certOffset === 0 && certSize === 0) return layout;
  if (certOffset === 0 || certSize < 8) fail('inconsistent Certificate Table entry');
  if (certOffset < headersEnd) fail('the certificate table overlaps the headers');
  if (certOffset % 8 !== 0) fail('the certificate table is not 8-byte aligned');
  // Since MS12-024/MS13-098 the table must be the last thing in the file: bytes
  // after it would be unsigned content Windows refuses (and osslsigncode ignores the signature).
  if (certOffset + certSize !== reader.size) fail('the certificate table is not at the end of the file');
  return { ...layout, certTable: { offset: certOffset, size: certSize } };
}
