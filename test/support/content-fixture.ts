import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { ContentLocator, StoredContent } from '../../src/core/content/content-types.js';
import { createContentRoutes } from '../../src/http/content-routes.js';
import { quietLog } from './test-server.js';

// A content store stand-in over a temporary directory (the real store verifies files on entry;
// here the test decides what is "verified"), a server that mounts the content routes the way
// the client listener does, and a raw HTTP/1.1 exchange for requests undici would normalize.

export interface TestFile {
  sha1: string;
  sha256: string;
  size: number;
  path: string;
  url: string;
  data?: Buffer;
}

export class DirLocator implements ContentLocator {
  readonly files = new Map<string, StoredContent>();
  readonly known = new Set<string>();
  readonly downloads: string[] = [];
  locateCalls = 0;

  locate(sha1Hex: string): StoredContent | undefined {
    this.locateCalls++;
    return this.files.get(sha1Hex);
  }
  isKnown(sha1Hex: string): boolean {
    return this.known.has(sha1Hex) || this.files.has(sha1Hex);
  }
  requestDownload(sha1Hex: string): void {
    this.downloads.push(sha1Hex);
  }
}

export const STORED_AT = Date.UTC(2026, 8, 2, 8, 30, 53, 250);

export class ContentFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'wsus-content-'));
  readonly contentDir = join(this.dir, 'content');
  readonly selfUpdateDir = join(this.dir, 'selfupdate');
  readonly locator = new DirLocator();
  private server: Server | null = null;
  /** when the server side of each connection closed, by the client's port */
  readonly serverClosedAt = new Map<number, number>();
  port = 0;

  constructor() {
    mkdirSync(this.contentDir);
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A random file stored under its real digests. */
  addRandom(size: number, ext = 'cab'): TestFile {
    const data = randomBytes(size);
    const sha1 = createHash('sha1').update(data).digest('hex').toUpperCase();
    const path = join(this.contentDir, sha1);
    writeFileSync(path, data);
    return { ...this.register(sha1, size, path, ext), data, sha256: createHash('sha256').update(data).digest('base64') };
  }

  /** A sparse file (zeros, no disk blocks) stored under a given digest: the store is trusted. */
  addSparse(sha1: string, size: number, ext = 'exe'): TestFile {
    const path = join(this.contentDir, sha1);
    writeFileSync(path, '');
    truncateSync(path, size);
    return this.register(sha1, size, path, ext);
  }

  private register(sha1: string, size: number, path: string, ext: string): TestFile {
    this.locator.files.set(sha1, { sha1Hex: sha1, size, path, storedAtMs: STORED_AT });
    return { sha1, sha256: '', size, path, url: `/Content/${sha1.slice(-2)}/${sha1}.${ext}` };
  }

  async start(idleTimeoutMs = 120_000): Promise<void> {
    const app = express();
    app.disable('x-powered-by');
    app.use(createContentRoutes({ locator: this.locator, selfUpdateDir: this.selfUpdateDir, log: quietLog, idleTimeoutMs }));
    app.use((_req, res) => {
      res.status(404).type('text/plain').send('not found\n');
    });
    this.server = createServer(app);
    this.server.on('connection', (s) => {
      const port = s.remotePort!;
      s.on('close', () => this.serverClosedAt.set(port, Date.now()));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RawResponse {
  statusLine: string;
  /** names lower-cased, in wire order */
  headers: Array<[string, string]>;
  header(name: string): string | undefined;
  body: Buffer;
}

/**
 * Sends `request` bytes as they are and reads one response (Content-Length framed, or until
 * the server closes). For paths and headers a client library would rewrite.
 */
export function rawExchange(port: number, request: string | Buffer, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let got = 0;
    let headerEnd = -1;
    let need = Infinity;
    let parsed: Omit<RawResponse, 'body'> | null = null;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw exchange timed out'));
    }, opts.timeoutMs ?? 10_000);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      resolve({ ...parsed!, body: all.subarray(headerEnd + 4, headerEnd + 4 + (Number.isFinite(need) ? need : all.length)) });
    };
    socket.on('data', (b: Buffer) => {
      chunks.push(b);
      got += b.length;
      if (!parsed) {
        const all = Buffer.concat(chunks);
        headerEnd = all.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const lines = all.subarray(0, headerEnd).toString('latin1').split('\r\n');
        const headers = lines.slice(1).map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
        parsed = { statusLine: lines[0]!, headers, header: (n) => headers.find(([k]) => k === n.toLowerCase())?.[1] };
        const status = Number(lines[0]!.split(' ')[1]);
        const cl = parsed.header('content-length');
        need = opts.head || status === 304 ? 0 : cl !== undefined ? Number(cl) : Infinity;
      }
      if (got >= headerEnd + 4 + need) done();
    });
    socket.on('end', () => (parsed ? done() : reject(new Error('closed before a response'))));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.write(request);
  });
}

export const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`;

/**
 * A minimal software update whose files are the given bytes, so the content store knows their
 * digests (import it, then ingest the bytes). File names default to f0.bin, f1.bin, ….
 */
export function updateDocumentForFiles(id: string, title: string, files: readonly { bytes: Buffer; sha1Hex: string; name?: string }[]): string {
  const file = (p: (typeof files)[number], i: number): string =>
    `<upd:File Digest="${Buffer.from(p.sha1Hex, 'hex').toString('base64')}" DigestAlgorithm="SHA1" FileName="${p.name ?? `f${i}.bin`}" Size="${p.bytes.length}" Modified="2026-01-01T00:00:00Z">`
    + `<upd:AdditionalDigest Algorithm="SHA256">${createHash('sha256').update(p.bytes).digest('base64')}</upd:AdditionalDigest></upd:File>`;
  return `<upd:Update xmlns:upd="http://schemas.microsoft.com/msus/2002/12/Update">`
    + `<upd:UpdateIdentity UpdateID="${id}" RevisionNumber="100" />`
    + '<upd:Properties UpdateType="Software" DefaultPropertiesLanguage="en" />'
    + '<upd:LocalizedPropertiesCollection><upd:LocalizedProperties><upd:Language>en</upd:Language>'
    + `<upd:Title>${title}</upd:Title></upd:LocalizedProperties></upd:LocalizedPropertiesCollection>`
    + `<upd:Files>${files.map(file).join('')}</upd:Files></upd:Update>`;
}
