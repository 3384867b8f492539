// The download side of the client listener: `/Content/<XX>/<SHA1>.<ext>` from the verified
// content store, `/Content/anonymousCheckFile.txt` (the probe admins use), and `/selfupdate/…`
// from the self-update directory. GET and HEAD only; paths are case-insensitive as on IIS.
//
// A content path is matched whole against one strict pattern before anything else happens, so
// `..`, encoded slashes, backslashes and over-long names never reach the filesystem: they are
// answered from the path alone (400 for what can only be an attempt to escape, 404 otherwise).

import express from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContentLocator, StoredContent } from '../core/content/content-types.js';
import { httpDate } from '../core/content/http-dates.js';
import { mediaTypeFor } from '../core/content/media-types.js';
import type { Logger } from '../logger.js';
import { sendFile, type FileAnswer, type FileResponseOptions } from './file-response.js';
import { OpenFiles } from './open-files.js';
import { findSelfUpdateFile, SELFUPDATE_MISSING, selfUpdateInstalled } from './selfupdate-files.js';

export { selfUpdateHealth } from './selfupdate-files.js';

/**
 * The content store adds `locateForServing`: the file checked against tampering since it was
 * hashed (synchronous when unchanged, a promise while a changed file is hashed again).
 */
export type ServingLocator = ContentLocator & {
  locateForServing?(sha1Hex: string): StoredContent | undefined | Promise<StoredContent | undefined>;
};

export interface ContentRoutesOptions {
  locator: ServingLocator;
  selfUpdateDir: string;
  log: Logger;
  /** a download whose socket makes no progress this long is cut; IIS's default connection timeout is 120 s */
  idleTimeoutMs?: number;
  /** the download bound: false when the request was refused (answered 503) */
  admit?: (res: ServerResponse) => boolean;
}

/** Handles the request and returns true when its path is ours; false leaves it to the caller. */
export type ContentHandler = (req: IncomingMessage, res: ServerResponse, rawUrl?: string) => boolean;

const CONTENT = /^\/content\/([0-9a-f]{2})\/([0-9a-f]{40})\.([0-9a-z]{1,16})$/;
const ESCAPE_ATTEMPT = /%|\\|\/\.\.?(\/|$)|\0/;
const CHECK_FILE_BODY = Buffer.from('WSUS-compatible server: anonymous access to content is enabled.\r\n');
const startedAt = Date.now();

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = Buffer.from(text);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...extra }).end(body);
}

export function createContentHandler(opts: ContentRoutesOptions): ContentHandler {
  const { locator, selfUpdateDir, log } = opts;
  const fileOpts: FileResponseOptions = { log, idleTimeoutMs: opts.idleTimeoutMs ?? 120_000, files: new OpenFiles() };

  const failed = (res: ServerResponse, what: string) => (e: unknown): void => {
    log.error(`${what} failed`, { error: (e as Error).stack });
    if (!res.headersSent) plain(res, 500, 'internal error\n');
    else res.destroy();
  };

  const notHere = (res: ServerResponse, sha1: string): void => {
    // Locations are announced before files arrive; asking for one is the cue to fetch it.
    if (locator.isKnown(sha1)) {
      locator.requestDownload(sha1);
      plain(res, 404, 'this file has not been downloaded to the server yet\n');
    } else {
      plain(res, 404, 'not found\n');
    }
  };

  const serveContent = async (req: IncomingMessage, res: ServerResponse, lower: string): Promise<void> => {
    if (lower === '/content/anonymouscheckfile.txt') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': CHECK_FILE_BODY.length, 'Last-Modified': httpDate(startedAt) });
      res.end(CHECK_FILE_BODY);
      return;
    }
    const m = CONTENT.exec(lower);
    if (!m) {
      if (ESCAPE_ATTEMPT.test(lower)) plain(res, 400, 'bad path\n');
      else plain(res, 404, 'not found\n');
      return;
    }
    const [, dir, hex, ext] = m as unknown as [string, string, string, string];
    if (!hex.endsWith(dir)) {
      plain(res, 404, 'not found\n');
      return;
    }
    const sha1 = hex.toUpperCase();
    const found = locator.locateForServing ? locator.locateForServing(sha1) : locator.locate(sha1);
    // Only a file that changed on disk since it was hashed costs an await here.
    const stored = found instanceof Promise ? await found : found;
    if (!stored) {
      notHere(res, sha1);
      return;
    }
    const answer: FileAnswer = await sendFile(req, res, {
      path: stored.path,
      size: stored.size,
      // The URL names the content by its digest, so the digest is the ideal strong validator:
      // stable across restarts, re-imports and servers.
      etag: `"${sha1}"`,
      lastModifiedMs: stored.storedAtMs,
      contentType: mediaTypeFor(ext),
    }, fileOpts);
    if (answer === 'missing') notHere(res, sha1);
  };

  const serveSelfUpdate = async (req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> => {
    const found = await findSelfUpdateFile(selfUpdateDir, rest);
    if (found.kind === 'bad-path') {
      plain(res, 400, 'bad path\n');
      return;
    }
    const missing = (): void => plain(res, 404, selfUpdateInstalled(selfUpdateDir) ? 'not found\n' : `${SELFUPDATE_MISSING}\n`);
    if (found.kind === 'not-found') {
      missing();
      return;
    }
    const answer = await sendFile(req, res, {
      path: found.path,
      size: found.size,
      etag: `"${Math.floor(found.mtimeMs).toString(16)}-${found.size.toString(16)}"`,
      lastModifiedMs: found.mtimeMs,
      contentType: mediaTypeFor(found.path),
    }, fileOpts);
    if (answer === 'missing') missing();
  };

  return (req, res, rawUrl = req.url ?? '/') => {
    const q = rawUrl.indexOf('?');
    let path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
    const lower = path.toLowerCase();
    const isContent = lower === '/content' || lower.startsWith('/content/');
    const isSelfUpdate = !isContent && (lower === '/selfupdate' || lower.startsWith('/selfupdate/'));
    if (!isContent && !isSelfUpdate) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
      return true;
    }
    if (opts.admit && !opts.admit(res)) return true;
    if (isContent) serveContent(req, res, lower).catch(failed(res, 'content download'));
    else serveSelfUpdate(req, res, path.slice('/selfupdate'.length)).catch(failed(res, 'self-update download'));
    return true;
  };
}

/** The same handler as an Express router, for mounting on the client listener's app. */
export function createContentRoutes(opts: ContentRoutesOptions): express.Router {
  const handle = createContentHandler(opts);
  const router = express.Router();
  router.use((req, res, next) => {
    if (!handle(req, res, req.originalUrl)) next();
  });
  return router;
}
