// Files for the content benchmark: random bytes named by their real SHA-1, laid out as
// ROOT/Content/XX/<SHA1>.cab (the tree both servers serve), plus a cross-check that two servers
// answer the same bytes for the same range.

import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';

export interface BenchFile {
  url: string;
  size: number;
  label: string;
}

export function sizeLabel(size: number): string {
  if (size >= 2 ** 30) return `${(size / 2 ** 30).toFixed(1)} GiB`;
  if (size >= 2 ** 20) return `${Math.round(size / 2 ** 20)} MiB`;
  return `${(size / 1e6).toFixed(1)} MB`;
}

/** `block` (random bytes) is written over and over at shifting offsets: fast, and not compressible. */
export function makeFile(root: string, size: number, block: Buffer): BenchFile {
  const tmp = join(root, 'incoming');
  const fd = openSync(tmp, 'w');
  const sha1 = createHash('sha1');
  const half = block.length / 2;
  try {
    for (let i = 0, written = 0; written < size; i++) {
      const offset = (i * 7919) % half;
      const chunk = block.subarray(offset, offset + Math.min(half, size - written));
      writeSync(fd, chunk);
      sha1.update(chunk);
      written += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  const hex = sha1.digest('hex').toUpperCase();
  const dir = join(root, 'Content', hex.slice(-2));
  mkdirSync(dir, { recursive: true });
  // A rename keeps the pages cached: both servers read from memory, as a busy server does.
  renameSync(tmp, join(dir, `${hex}.cab`));
  return { url: `/Content/${hex.slice(-2)}/${hex}.cab`, size, label: sizeLabel(size) };
}

/** The same bytes from every server for a range in the middle of every file. */
export async function crossCheck(files: BenchFile[], ports: number[]): Promise<void> {
  for (const f of files) {
    const start = Math.max(0, Math.floor(f.size / 2) - 1000);
    const end = Math.min(f.size - 1, start + 65535);
    const bodies = await Promise.all(ports.map(async (p) => {
      const r = await request(`http://127.0.0.1:${p}${f.url}`, { headers: { range: `bytes=${start}-${end}` } });
      const b = Buffer.from(await r.body.arrayBuffer());
      if (r.statusCode !== 206 || r.headers['content-range'] !== `bytes ${start}-${end}/${f.size}`) throw new Error(`port ${p}: ${r.statusCode} for ${f.url}`);
      return b;
    }));
    if (bodies.some((b) => !b.equals(bodies[0]!))) throw new Error(`servers disagree on ${f.url}`);
  }
}
