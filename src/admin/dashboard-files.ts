import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web dashboard's static files, served by the admin listener without a token: they hold no
// data (every figure comes from the token-protected JSON API, fetched by the page itself). Only
// the files found in web/dashboard when the listener starts can be served — a request names an
// entry of that list or gets a 404, so no path can reach outside the folder. No build step: the
// folder is served as it is in the source tree.

export const DASHBOARD_PREFIX = '/dashboard/';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** a file name part: no dot files, no `..`, no separators or escapes */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const MAX_FILES = 500;

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** The package root: the nearest folder above this module holding package.json (src/admin or dist/src/admin alike). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function dashboardDir(): string {
  return join(packageRoot(), 'web', 'dashboard');
}

/** Regular files below `dir` keyed by their `/`-joined relative path (symbolic links are not followed). */
function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (abs: string, rel: string): void => {
    for (const e of readdirSync(abs, { withFileTypes: true })) {
      if (!SEGMENT.test(e.name) || files.size >= MAX_FILES) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(abs, e.name), path);
      else if (e.isFile() && CONTENT_TYPES[extname(e.name).toLowerCase()]) {
        const body = readFileSync(join(abs, e.name));
        files.set(path, { body, type: CONTENT_TYPES[extname(e.name).toLowerCase()]!, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
      }
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return files;
}

/** The relative file a dashboard path names, or null when it cannot name one. */
function fileOf(pathname: string): string | null {
  const rest = pathname.slice(DASHBOARD_PREFIX.length);
  if (rest === '') return 'index.html';
  const parts: string[] = [];
  for (const raw of rest.split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (!SEGMENT.test(seg)) return null;
    parts.push(seg);
  }
  return parts.join('/');
}

export interface DashboardFiles {
  /**
   * Answers the request when it is for the dashboard (`/`, `/dashboard`, `/dashboard/…`) and
   * returns true; returns false for everything else (the API).
   */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean;
}

export function createDashboardFiles(dir: string = dashboardDir()): DashboardFiles {
  let files: Map<string, StaticFile> | null = null;
  const plain = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS, ...headers });
    res.end(text);
  };
  return {
    serve(req, res, pathname) {
      const isRoot = pathname === '/' || pathname === '/dashboard';
      if (!isRoot && !pathname.startsWith(DASHBOARD_PREFIX)) return false;
      req.resume();
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        plain(res, 405, 'the dashboard is read-only: GET only\n', { allow: 'GET, HEAD' });
        return true;
      }
      if (isRoot) {
        plain(res, 302, `see ${DASHBOARD_PREFIX}\n`, { location: DASHBOARD_PREFIX });
        return true;
      }
      // Read once, on first use: servers that never show the dashboard never read it.
      files ??= loadFiles(dir);
      const name = fileOf(pathname);
      const file = name === null ? undefined : files.get(name);
      if (!file) {
        plain(res, 404, files.size ? 'no such dashboard file\n' : 'the dashboard files (web/dashboard) are missing from this installation\n');
        return true;
      }
      const headers = {
        'content-type': file.type,
        // no hashed file names (no build step): revalidate every time, cheaply, by ETag
        'cache-control': 'no-cache',
        etag: file.etag,
        ...SECURITY_HEADERS,
      };
      if (req.headers['if-none-match'] === file.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      res.writeHead(200, { ...headers, 'content-length': file.body.length });
      res.end(method === 'HEAD' ? undefined : file.body);
      return true;
    },
  };
}
