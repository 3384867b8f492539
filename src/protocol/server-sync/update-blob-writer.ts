import { assembleCabinet, lzxCompress, TYPE_COMPRESS_LZX21, UPDATE_BLOB_MEMBER } from '../cab/index.js';
import { escapeText } from '../xml/escape.js';

// GetUpdateData carries each update document either as XmlUpdateBlob (the XML, escaped as
// text) or as XmlUpdateBlobCompressed: base64 of a one-folder LZX cabinet (2 MiB window)
// whose member `blob` holds the XML in UTF-16LE without BOM (REAL-CLIENTS.md, Server-server;
// WSUS also writes the CFFILE with attributes 0 and no date, which we copy).
//
// WSUS compresses "when the XML exceeds 5,120 bytes" [MS-WSUSSS] note; the bytes are the
// UTF-16 ones: capture 000016 carries a 4,917-byte (UTF-8) category compressed, which only
// a UTF-16 measure (9,834 bytes) explains, while 000015 (1,432 bytes UTF-8) stays plain.

export const BLOB_COMPRESSION_THRESHOLD_BYTES = 5120;

export function blobNeedsCompression(xml: string): boolean {
  return xml.length * 2 > BLOB_COMPRESSION_THRESHOLD_BYTES;
}

/** base64 of the cabinet WSUS would send for `xml` (our LZX encoder; not byte-identical to WSUS's). */
export function encodeUpdateBlob(xml: string): string {
  const data = Buffer.from(xml, 'utf16le');
  const cabinet = assembleCabinet({
    folders: [{ typeCompress: TYPE_COMPRESS_LZX21, blocks: lzxCompress(data) }],
    files: [{ name: UPDATE_BLOB_MEMBER, size: data.length, folderIndex: 0, folderOffset: 0, attributes: 0 }],
  });
  return cabinet.toString('base64');
}

/** True when {@link writeUpdateBlob} with these arguments writes XmlUpdateBlobCompressed. */
export function writesCompressed(xml: string, compress: boolean): boolean {
  return compress && blobNeedsCompression(xml);
}

/**
 * The blob element of one ServerSyncUpdateData: XmlUpdateBlobCompressed when `compress` is
 * asked and the document is above the WSUS threshold, XmlUpdateBlob otherwise.
 */
export function writeUpdateBlob(xml: string, compress: boolean): string {
  return writesCompressed(xml, compress)
    ? `<XmlUpdateBlobCompressed>${encodeUpdateBlob(xml)}</XmlUpdateBlobCompressed>`
    : `<XmlUpdateBlob>${escapeText(xml)}</XmlUpdateBlob>`;
}
