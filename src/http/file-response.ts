// One static file as an HTTP answer: conditional requests, byte ranges (single → 206,
// several → multipart/byteranges), HEAD, and the streamed body. Shared by /Content and
// /selfupdate so both behave the same way.
//
// Headers follow what IIS sends for WSUS content (the real capture): Content-Type,
// Last-Modified, Accept-Ranges, ETag, Content-Length, Content-Range, in one writeHead. There is
// never a Content-Encoding: the bytes on the wire are the bytes whose digests the client checks.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { httpDate } from '../core/content/http-dates.js';
import { contentRange, decide, unsatisfiedRange, type ConditionalHeaders } from '../core/content/http-ranges.js';
import { multipartByteranges, type BodyPiece } from '../core/content/multipart-byteranges.js';
import type { Logger } from '../logger.js';
import { writeBody } from './file-body.js';
import type { OpenFiles } from './open-files.js';

export interface ServableFile {
  path: string;
  size: number;
  /** strong and quoted, e.g. `"8A0C…"` */
  etag: string;
  lastModifiedMs: number;
  contentType: string;
}

export interface FileResponseOptions {
  log: Logger;
  /** a response whose socket makes no progress this long is destroyed (a client that never reads) */
  idleTimeoutMs: number;
  files: OpenFiles;
  now?: () => number;
}

export type FileAnswer = 'sent' | 'missing';

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v);

function conditionalHeaders(req: IncomingMessage): ConditionalHeaders {
  const h = req.headers;
  return {
    range: h.range,
    ifRange: one(h['if-range']),
    ifMatch: one(h['if-match']),
    ifNoneMatch: one(h['if-none-match']),
    ifModifiedSince: one(h['if-modified-since']),
    ifUnmodifiedSince: one(h['if-unmodified-since']),
  };
}

/**
 * Answers GET or HEAD for `file`. Resolves 'missing' without having sent anything when the
 * file cannot be opened (gone since it was located), so the caller can answer 404.
 */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: ServableFile, opts: FileResponseOptions): Promise<FileAnswer> {
  const now = opts.now?.() ?? Date.now();
  const decision = decide(req.method ?? 'GET', conditionalHeaders(req), file.size, { etag: file.etag, lastModifiedMs: file.lastModifiedMs }, now);
  const lastModified = httpDate(file.lastModifiedMs);
  const head = req.method === 'HEAD';

  switch (decision.status) {
    case 304:
      res.writeHead(304, { 'Last-Modified': lastModified, ETag: file.etag }).end();
      return Promise.resolve('sent');
    case 412:
      res.writeHead(412, { 'Content-Length': 0 }).end();
      return Promise.resolve('sent');
    case 416:
      res.writeHead(416, { 'Content-Range': unsatisfiedRange(file.size), 'Accept-Ranges': 'bytes', 'Content-Length': 0 }).end();
      return Promise.resolve('sent');
  }

  let pieces: BodyPiece[];
  const headers: OutgoingHttpHeaders = {
    'Content-Type': file.contentType,
    'Last-Modified': lastModified,
    'Accept-Ranges': 'bytes',
    ETag: file.etag,
  };
  if (decision.status === 200) {
    headers['Content-Length'] = file.size;
    pieces = file.size > 0 ? [{ kind: 'file', range: { start: 0, end: file.size - 1 } }] : [];
  } else if (decision.ranges.length === 1) {
    const r = decision.ranges[0]!;
    headers['Content-Length'] = r.end - r.start + 1;
    headers['Content-Range'] = contentRange(r, file.size);
    pieces = [{ kind: 'file', range: r }];
  } else {
    const body = multipartByteranges(decision.ranges, file.size, file.contentType, randomBytes(12).toString('hex'));
    headers['Content-Type'] = body.contentType;
    headers['Content-Length'] = body.length;
    pieces = body.pieces;
  }

  if (head || pieces.length === 0) {
    res.writeHead(decision.status, headers).end();
    return Promise.resolve('sent');
  }
  return new Promise<FileAnswer>((resolve) => {
    opts.files.acquire(file.path, file.lastModifiedMs, (err, handle) => {
      if (err || !handle) {
        if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') {
          resolve('missing');
          return;
        }
        opts.log.error('file cannot be opened', { path: file.path, error: err?.message });
        res.writeHead(500, { 'Content-Type': 'text/plain', 'Content-Length': 22 }).end('file cannot be opened\n');
        resolve('sent');
        return;
      }
      if (res.destroyed) {
        handle.release();
        resolve('sent');
        return;
      }
      res.setTimeout(opts.idleTimeoutMs, () => res.destroy());
      res.writeHead(decision.status, headers);
      writeBody(handle, res, pieces, (outcome, error) => {
        if (outcome === 'short-file' || outcome === 'read-error') {
          opts.log.error('file shorter than its recorded size, or unreadable: response cut', { path: file.path, size: file.size, error: error?.message });
        }
      });
      resolve('sent');
    });
  });
}
