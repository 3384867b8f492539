// Why SOAP requests are read by our own strict reader and not by fast-xml-parser: the same
// real SyncUpdates request body (a delta scan, ~1,400 cached ids), parsed both ways, side by
// side in one process. Prints figures only.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { projectRoot } from '../src/paths.js';
import { decodeBody } from '../src/protocol/xml/strict-xml-reader.js';
import { readEnvelope } from '../src/protocol/soap/envelope.js';

const file = resolve(projectRoot, '../shared/captures/wsus-m0-native/flow/000013/request.body');
if (!existsSync(file)) {
  console.log(`skipped: ${file} not found (the real capture is the input of this benchmark)`);
  process.exit(0);
}
const body = readFileSync(file);
const limits = {
  maxDepth: 48, maxElements: 200_000, maxAttributes: 64,
  intArrayElements: new Set(['InstalledNonLeafUpdateIDs', 'OtherCachedUpdateIDs', 'CachedDriverIDs', 'revisionIDs']),
};
const fxp = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: true, processEntities: true, isArray: (name) => name === 'int' });

function median(f: () => unknown, rounds = 15, per = 400): number {
  for (let i = 0; i < per * 2; i++) f();
  const xs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < per; i++) f();
    xs.push(((performance.now() - t) / per) * 1000);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

const ours = median(() => readEnvelope(decodeBody(body), limits, body));
const theirs = median(() => fxp.parse(body.toString('utf8')));
console.log(`request: ${body.length} bytes (${(body.toString().match(/<int>/g) ?? []).length} ids)`);
console.log(`strict reader (ours):  ${ours.toFixed(1)} µs per request (median of 15 rounds)`);
console.log(`fast-xml-parser 5:     ${theirs.toFixed(1)} µs per request`);
console.log(`ratio fast-xml-parser / ours: ${(theirs / ours).toFixed(1)}x`);

// Update documents (the ingest/sync hot path): our single-pass tree scanner against the
// validate + ordered parse that fast-xml-parser needed to build the same tree.
{
  const { XMLValidator } = await import('fast-xml-parser');
  const { parseXmlTree } = await import('../src/core/catalog/xml-tree.js');
  const docFile = resolve(projectRoot, '../shared/captures/wsus-m0-wsusss/docs/a2fef9b0-7951-4c2c-a42b-9e351dd1c1fe-r200.xml');
  const doc = readFileSync(docFile, 'utf8');
  const ordered = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, processEntities: false, trimValues: false });
  const treeOurs = median(() => parseXmlTree(doc, { maxBytes: 64 << 20, maxDepth: 64 }), 15, 200);
  const treeTheirs = median(() => { XMLValidator.validate(doc); ordered.parse(doc); }, 15, 200);
  console.log(`update document: ${Buffer.byteLength(doc)} bytes`);
  console.log(`tree scanner (ours):   ${treeOurs.toFixed(1)} µs per document`);
  console.log(`fast-xml-parser 5 validate + ordered parse: ${treeTheirs.toFixed(1)} µs per document`);
  console.log(`ratio fast-xml-parser / ours: ${(treeTheirs / treeOurs).toFixed(1)}x`);
}
