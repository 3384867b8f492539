// Throughput of XmlUpdateBlobCompressed decoding (cabinet + LZX + UTF-16LE) on the
// real blobs a WSUS upstream sent (shared captures, read in place), and of the
// MSZIP and stored paths on a cabinet built from the same documents. Prints figures only.

import { measureThroughput as measure } from './support/throughput.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/paths.js';
import { buildCabinet, decodeUpdateBlob, extractCabinetMember } from '../src/protocol/cab/index.js';

const CAPTURES = path.resolve(projectRoot, '../shared/captures/wsus-m0-wsusss');
const LIMITS = { maxUncompressedBytes: 64 << 20 };


const blobs: string[] = [];
for (const set of ['exchanges', 'exchanges-client']) {
  const dir = path.join(CAPTURES, set);
  if (!existsSync(dir)) continue;
  for (const ex of readdirSync(dir)) {
    const body = path.join(dir, ex, 'response.body');
    if (!existsSync(body)) continue;
    for (const m of readFileSync(body, 'utf8').matchAll(/<XmlUpdateBlobCompressed>([^<]*)</g)) blobs.push(m[1]);
  }
}
if (blobs.length === 0) {
  console.log('no captures found under', CAPTURES);
  process.exit(0);
}

const fmt = (n: number) => n.toFixed(1).padStart(7);
for (const b64 of blobs) {
  const cab = Buffer.from(b64, 'base64');
  const out = extractCabinetMember(cab, 'blob', LIMITS).length;
  const raw = measure(out, 1000, () => extractCabinetMember(cab, 'blob', LIMITS));
  const full = measure(out, 1000, () => decodeUpdateBlob(b64, 1 << 24));
  console.log(
    `LZX blob ${String(cab.length).padStart(6)} -> ${String(out).padStart(6)} B: cabinet+LZX ${fmt(raw)} MB/s, `
      + `base64+cabinet+LZX+UTF-16 ${fmt(full)} MB/s (output bytes)`,
  );
}
const joined = Buffer.concat(blobs.map((b) => extractCabinetMember(Buffer.from(b, 'base64'), 'blob', LIMITS)));
const big = Buffer.concat(Array.from({ length: 20 }, () => joined));
for (const kind of ['mszip', 'none'] as const) {
  const cab = buildCabinet([{ name: 'blob', data: big }], kind);
  const rate = measure(big.length, 1000, () => extractCabinetMember(cab, 'blob', LIMITS));
  console.log(`${kind.padEnd(5)} ${String(big.length).padStart(8)} B: ${fmt(rate)} MB/s`);
}
