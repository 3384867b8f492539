// Throughput of the Xpress codec on a SOAP-like SyncUpdates response of ~130 KB, the
// size class the scan hot path compresses on every request. Prints figures only.

import { measureThroughput as measure } from './support/throughput.js';
import { SeededRandom } from '../src/fixtures/seeded-random.js';
import { decodePlainLz77, encodePlainLz77, xpressCompress, xpressDecompress } from '../src/protocol/xpress/index.js';

function rng(seed: number): () => number {
  const r = new SeededRandom(`xpress-${seed}`);
  return () => r.nextUint32() / 4294967296;
}

function buildSample(targetBytes: number): Buffer {
  const next = rng(42);
  const hex = (n: number) => Array.from({ length: n }, () => ((next() * 16) | 0).toString(16)).join('');
  const guid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const parts = [
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
      + 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soap:Body><SyncUpdatesResponse '
      + 'xmlns="http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService"><SyncUpdatesResult><NewUpdates>',
  ];
  let size = parts[0]!.length;
  for (let i = 0; size < targetBytes - 200; i++) {
    const entry = `<UpdateInfo><ID>${310000 + i * 7}</ID><Deployment><ID>${41000 + i}</ID><Action>${i % 5 ? 'Install' : 'Bundle'}</Action>`
      + `<IsAssigned>true</IsAssigned><LastChangeTime>2024-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}</LastChangeTime>`
      + `<AutoSelect>0</AutoSelect><AutoDownload>0</AutoDownload><SupersedenceBehavior>0</SupersedenceBehavior></Deployment>`
      + `<IsLeaf>${i % 3 === 0}</IsLeaf><Xml>&lt;UpdateIdentity UpdateID="${guid()}" RevisionNumber="${200 + (i % 97)}" /&gt;`
      + `&lt;Properties UpdateType="${i % 4 ? 'Software' : 'Driver'}" ExplicitlyDeployable="true" AutoSelectOnWebSites="true" /&gt;`
      + `&lt;Relationships&gt;&lt;Prerequisites&gt;&lt;AtLeastOne IsCategory="true"&gt;&lt;UpdateIdentity UpdateID="${guid()}" /&gt;`
      + `&lt;/AtLeastOne&gt;&lt;/Prerequisites&gt;&lt;BundledUpdates&gt;&lt;UpdateIdentity UpdateID="${guid()}" RevisionNumber="1" /&gt;`
      + '&lt;/BundledUpdates&gt;&lt;/Relationships&gt;</Xml></UpdateInfo>';
    parts.push(entry);
    size += entry.length;
  }
  parts.push('</NewUpdates><Truncated>false</Truncated></SyncUpdatesResult></SyncUpdatesResponse></soap:Body></soap:Envelope>');
  return Buffer.from(parts.join(''), 'utf8');
}


const sample = buildSample(130 * 1024);
const framed = xpressCompress(sample);
const plain = encodePlainLz77(sample);

if (!xpressDecompress(framed, sample.length).equals(sample)) throw new Error('framed round trip failed');

const fmt = (x: number) => x.toFixed(1).padStart(8);
console.log(`sample: ${sample.length} bytes of SOAP-like XML`);
console.log(`framed (16352-byte blocks): ${framed.length} bytes, ratio ${(framed.length / sample.length).toFixed(3)}`);
console.log(`plain LZ77 (single stream): ${plain.length} bytes, ratio ${(plain.length / sample.length).toFixed(3)}`);
console.log(`xpressCompress     ${fmt(measure(sample.length, 1500, () => xpressCompress(sample)))} MB/s (input)`);
console.log(`encodePlainLz77    ${fmt(measure(sample.length, 1500, () => encodePlainLz77(sample)))} MB/s (input)`);
console.log(`xpressDecompress   ${fmt(measure(sample.length, 1500, () => xpressDecompress(framed, sample.length)))} MB/s (output)`);
console.log(`decodePlainLz77    ${fmt(measure(sample.length, 1500, () => decodePlainLz77(plain, sample.length)))} MB/s (output)`);
