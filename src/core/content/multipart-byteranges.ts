// The framing of a multipart/byteranges body (RFC 9110 §14.6, Appendix A of RFC 7233's
// example layout): what goes between the file slices, and the exact total length, so the
// response carries a Content-Length and keeps the connection reusable.

import { contentRange, type ByteRange } from './http-ranges.js';

export type BodyPiece = { kind: 'bytes'; data: Buffer } | { kind: 'file'; range: ByteRange };

export interface MultipartBody {
  contentType: string;
  length: number;
  pieces: BodyPiece[];
}

/** `boundary` must not occur in the file; a fresh random one per response makes that certain enough. */
export function multipartByteranges(ranges: readonly ByteRange[], size: number, partType: string, boundary: string): MultipartBody {
  const pieces: BodyPiece[] = [];
  let length = 0;
  const text = (s: string): void => {
    const data = Buffer.from(s, 'latin1');
    pieces.push({ kind: 'bytes', data });
    length += data.length;
  };
  ranges.forEach((r, i) => {
    text(`${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${partType}\r\nContent-Range: ${contentRange(r, size)}\r\n\r\n`);
    pieces.push({ kind: 'file', range: r });
    length += r.end - r.start + 1;
  });
  text(`\r\n--${boundary}--\r\n`);
  return { contentType: `multipart/byteranges; boundary=${boundary}`, length, pieces };
}
