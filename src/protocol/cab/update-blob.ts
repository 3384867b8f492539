// MS-WSUSSS GetUpdateData returns large update documents as XmlUpdateBlobCompressed:
// base64 of a cabinet (LZX, 2 MiB window) whose member "blob" is the
// <upd:Update> XML in UTF-16LE. Plain XmlUpdateBlob needs no decoding.

import { extractMember, findMember, readCabinet } from './cabinet-reader.js';
import { CabinetFormatError } from './errors.js';

/** Name of the cabinet member WSUS stores the update XML under. */
export const UPDATE_BLOB_MEMBER = 'blob';

/** Cabinet structures around a blob; lets a stored (uncompressed) cabinet of maxBytes through. */
const CABINET_OVERHEAD = 64 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes an XmlUpdateBlobCompressed value to the update XML text.
 * @param base64 the element's text (whitespace is ignored).
 * @param maxBytes cap on the decompressed blob in bytes (UTF-16LE, so about twice
 *   the characters); larger blobs are refused before anything is allocated.
 * @throws CabinetFormatError for anything malformed or over the cap.
 */
export function decodeUpdateBlob(base64: string, maxBytes: number): string {
  return decodeBlobText(decodeUpdateBlobBytes(base64, maxBytes));
}

/** As {@link decodeUpdateBlob}, but returns the member's bytes without text decoding. */
export function decodeUpdateBlobBytes(base64: string, maxBytes: number): Buffer {
  const text = base64.replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new CabinetFormatError('XmlUpdateBlobCompressed is not valid base64');
  }
  const decodedLength = (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0);
  if (decodedLength > maxBytes + CABINET_OVERHEAD) {
    throw new CabinetFormatError(`compressed update blob of ${decodedLength} bytes exceeds the limit`, 'limit');
  }
  const cabinet = Buffer.from(text, 'base64');
  const limits = { maxUncompressedBytes: maxBytes, maxMembers: 16 };
  const parsed = readCabinet(cabinet, limits);
  // WSUS names the member "blob"; accept any name when there is only one.
  const member = parsed.members.some((m) => m.name === UPDATE_BLOB_MEMBER)
    ? findMember(parsed, UPDATE_BLOB_MEMBER)
    : findMember(parsed);
  return extractMember(cabinet, parsed, member, limits);
}

const UTF16 = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true });
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The blob is UTF-16LE (WSUS writes it without a BOM). A UTF-8 BOM, or XML whose
 * first character is visibly single-byte ("<" then a non-NUL byte), is read as
 * UTF-8 so hand-made cabinets also work.
 */
export function decodeBlobText(blob: Uint8Array): string {
  if (blob.length >= 3 && blob[0] === 0xef && blob[1] === 0xbb && blob[2] === 0xbf) {
    return utf8(blob.subarray(3));
  }
  let body = blob;
  if (blob.length >= 2 && blob[0] === 0xff && blob[1] === 0xfe) body = blob.subarray(2);
  else if (blob.length >= 2 && blob[0] === 0x3c && blob[1] !== 0) return utf8(blob);
  if (body.length % 2 !== 0) throw new CabinetFormatError('UTF-16LE update blob has an odd length');
  try {
    return UTF16.decode(body);
  } catch {
    throw new CabinetFormatError('update blob is not valid UTF-16LE');
  }
}

function utf8(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new CabinetFormatError('update blob is not valid UTF-8');
  }
}
