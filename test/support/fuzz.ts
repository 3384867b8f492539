import { SeededRandom } from '../../src/fixtures/seeded-random.js';
import { SOAP11_NS, SOAP12_NS, CLIENT_NS, SIMPLE_AUTH_NS, REPORTING_NS } from '../../src/protocol/soap/namespaces.js';
import { DSS_AUTH_NS } from '../../src/protocol/server-sync/namespaces.js';

// A seeded mutator for request bodies. Each mutation works on the bytes (as latin1 text, which
// maps byte n to char n and back, so invalid UTF-8 and UTF-16 survive untouched) and models one
// thing a hostile or broken peer does: flipped bits, cuts, copies, swapped names and
// namespaces, declarations the strict reader must refuse, huge values, deep nesting, other
// encodings. The same seed always gives the same sequence of bodies, so a failure replays.

export const MAX_FUZZ_BODY = 6 * 1024 * 1024;

export interface Mutation {
  name: string;
  apply(body: string, r: SeededRandom): string;
}

export interface Mutated {
  body: Buffer;
  /** mutation names in order, for the failure message */
  applied: string[];
}

const NAMESPACES = [SOAP11_NS, SOAP12_NS, CLIENT_NS, SIMPLE_AUTH_NS, REPORTING_NS, DSS_AUTH_NS, '', 'urn:x', 'http://www.w3.org/2000/xmlns/',
  'http://www.w3.org/XML/1998/namespace', 'http://www.w3.org/2001/XMLSchema-instance'];
const NAMES = ['Envelope', 'Body', 'Header', 'Fault', 'cookie', 'EncryptedData', 'Expiration', 'int', 'string', 'guid', 'parameters',
  'InstalledNonLeafUpdateIDs', 'OtherCachedUpdateIDs', 'revisionIDs', 'ReportingEvent', 'eventBatch', 'UpdateIdentity', 'filter',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'xmlns', 'xml:lang', 'a:b:c', 'x', '', '1abc', '-', 'ñ', '\u2028'];
const VALUES = ['', ' ', '-1', '0', '-0', '+1', '2147483647', '2147483648', '-2147483649', '99999999999999999999', '1e9', '0x10', 'NaN',
  'true', 'false', 'TRUE', 'null', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '{guid}',
  '0000-00-00T00:00:00Z', '9999-12-31T23:59:59.9999999Z', '1601-01-01T00:00:00Z', '2026-02-30T25:61:61Z', '@@@', '====', 'AAAA',
  '&amp;&lt;&gt;', '&#0;', '&#x10FFFF;', '&#xD800;', '&#65;', '&unknown;', '&', '<', ']]>', '\u0000', '\uffff', 'ẞ', '\u{1F600}',
  '%00', '../../etc/passwd', "'\"", 'xsi:nil', 'Robert\'); DROP TABLE computers;--'];
const DTDS = [
  '<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
  '<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
  '<!DOCTYPE s [<!ENTITY x SYSTEM "http://127.0.0.1:1/evil.dtd">]>',
  '<!DOCTYPE s SYSTEM "http://127.0.0.1:1/evil.dtd">',
  '<!DOCTYPE s [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
  '<!DOCTYPE s [<!ELEMENT s ANY><!ATTLIST s a CDATA "x">]>',
  '<!DOCTYPE',
];
const ENTITY_REFS = ['&x;', '&a;', '&c;', '&%p;', '&#0;', '&#x110000;', '&#xDFFF;', '&#12345678;', '&amp', '&#x;', '&#;', '&lt;', '&#60;'];
const PIS = ['<?xml version="1.0"?>', '<?xml-stylesheet href="file:///etc/passwd"?>', '<?php system("id"); ?>', '<?', '<?xml ', '?>'];
const CDATAS = ['<![CDATA[x]]>', '<![CDATA[<int>1</int>]]>', '<![CDATA[', ']]>', '<![CDATA[]]>', '<![cdata[x]]>'];

/** Bytes as latin1 text (one char per byte) and back. */
export const asText = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
export const asBytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function pos(s: string, r: SeededRandom): number {
  return r.int(0, s.length);
}

/** Offsets just after a `>`: where text content or a new element can go. */
function afterTags(s: string): number[] {
  const out: number[] = [];
  for (let i = s.indexOf('>'); i >= 0 && out.length < 4096; i = s.indexOf('>', i + 1)) out.push(i + 1);
  return out;
}

function insertAt(s: string, at: number, what: string): string {
  return s.slice(0, at) + what + s.slice(at);
}

function insertAfterTag(s: string, r: SeededRandom, what: string): string {
  const spots = afterTags(s);
  return insertAt(s, spots.length ? r.pick(spots) : pos(s, r), what);
}

/** Element names as written (`s:Envelope`, `int`), from start and end tags. */
function tagNames(s: string): string[] {
  const names = new Set<string>();
  for (const m of s.matchAll(/<\/?([A-Za-z_][\w.:-]*)/g)) {
    names.add(m[1]!);
    if (names.size > 200) break;
  }
  return [...names];
}

function replaceOne(s: string, find: RegExp, r: SeededRandom, to: (m: RegExpMatchArray) => string): string {
  const all = [...s.matchAll(find)].slice(0, 4096);
  if (all.length === 0) return s;
  const m = r.pick(all);
  return s.slice(0, m.index!) + to(m) + s.slice(m.index! + m[0].length);
}

/** At most `times`, and no more copies of `unit` than fit in MAX_FUZZ_BODY (the cap is applied after each mutation). */
function bounded(unit: string, times: number): number {
  return Math.max(1, Math.min(times, Math.floor(MAX_FUZZ_BODY / Math.max(1, unit.length))));
}

function randomBytes(r: SeededRandom, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(r.int(0, 255));
  return out;
}

function hugeValue(r: SeededRandom): string {
  const n = r.pick([70_000, 300_000, 1_100_000, 3_000_000, 4_300_000]);
  const unit = r.pick(['A', '9', ' ', '&amp;', '<int>1</int>', 'ǅ', '\u00ff', '<!---->']);
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

const mutations: Mutation[] = [
  { name: 'flip-bits', apply: (s, r) => {
    const b = asBytes(s);
    for (let k = r.int(1, 8); k > 0 && b.length; k--) {
      const i = r.int(0, b.length - 1);
      b[i] = b[i]! ^ (1 << r.int(0, 7));
    }
    return asText(b);
  } },
  { name: 'set-bytes', apply: (s, r) => {
    const b = asBytes(s);
    for (let k = r.int(1, 4); k > 0 && b.length; k--) b[r.int(0, b.length - 1)] = r.pick([0, 0xff, 0x3c, 0x3e, 0x26, 0x22, 0x2f, 0x3a, r.int(0, 255)]);
    return asText(b);
  } },
  { name: 'truncate', apply: (s, r) => s.slice(0, r.int(0, Math.max(0, s.length - 1))) },
  { name: 'delete-slice', apply: (s, r) => {
    const a = pos(s, r);
    return s.slice(0, a) + s.slice(Math.min(s.length, a + r.int(1, 64)));
  } },
  { name: 'duplicate-slice', apply: (s, r) => {
    const a = pos(s, r);
    const slice = s.slice(a, a + r.int(1, 512));
    return insertAt(s, pos(s, r), slice.repeat(bounded(slice, r.int(1, 20))));
  } },
  { name: 'duplicate-element', apply: (s, r) => replaceOne(s, /<([A-Za-z_][\w.:-]*)[^<>]*>[^<]*<\/\1>/g, r, (m) => m[0].repeat(bounded(m[0], r.int(2, 2000)))) },
  { name: 'swap-tag-names', apply: (s, r) => {
    const names = tagNames(s);
    if (names.length < 2) return s;
    const from = r.pick(names);
    const to = r.pick(names);
    return replaceOne(s, new RegExp(`<(/?)${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=[\\s/>])`, 'g'), r, (m) => `<${m[1]}${to}`);
  } },
  { name: 'rename-element', apply: (s, r) => replaceOne(s, /<(\/?)([A-Za-z_][\w.:-]*)/g, r, (m) => `<${m[1]}${r.pick(NAMES)}`) },
  { name: 'swap-namespace', apply: (s, r) => replaceOne(s, /xmlns(:\w+)?="[^"]*"/g, r, (m) => `xmlns${m[1] ?? ''}="${r.pick(NAMESPACES)}"`) },
  { name: 'drop-namespace', apply: (s, r) => replaceOne(s, /\sxmlns(:\w+)?="[^"]*"/g, r, () => '') },
  { name: 'add-prefix', apply: (s, r) => replaceOne(s, /<(\/?)([A-Za-z_][\w.-]*)(?=[\s/>])/g, r, (m) => `<${m[1]}${r.pick(['s', 'soap', 'q', 'xml', 'xmlns'])}:${m[2]}`) },
  { name: 'replace-text', apply: (s, r) => replaceOne(s, />([^<>]+)</g, r, () => `>${r.pick(VALUES)}<`) },
  { name: 'empty-text', apply: (s, r) => replaceOne(s, />([^<>]+)</g, r, () => '><') },
  { name: 'nil-element', apply: (s, r) => replaceOne(s, /<([A-Za-z_][\w.:-]*)>/g, r, (m) => `<${m[1]} xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`) },
  { name: 'huge-text', apply: (s, r) => insertAfterTag(s, r, hugeValue(r)) },
  { name: 'huge-attribute', apply: (s, r) => replaceOne(s, /<([A-Za-z_][\w.:-]*)/g, r, (m) => `${m[0]} a="${hugeValue(r).replace(/[<"&]/g, 'x')}"`) },
  { name: 'many-attributes', apply: (s, r) => replaceOne(s, /<([A-Za-z_][\w.:-]*)/g, r, (m) => {
    let a = '';
    for (let i = r.int(10, 5000); i > 0; i--) a += ` a${i}="${i}"`;
    return m[0] + a;
  }) },
  { name: 'bad-attribute', apply: (s, r) => replaceOne(s, /<([A-Za-z_][\w.:-]*)/g, r, (m) => `${m[0]} ${r.pick(['a=b', 'a="1" a="2"', 'a', '="x"', 'a="<"', "a='x", 'xmlns:p=""', 'xmlns:xml="urn:x"', 'p:a="1"', 'xmlns=""'])}`) },
  { name: 'insert-dtd', apply: (s, r) => {
    const at = s.startsWith('<?xml') ? s.indexOf('?>') + 2 : 0;
    return insertAt(s, Math.max(0, at), r.pick(DTDS));
  } },
  { name: 'insert-entity', apply: (s, r) => insertAfterTag(s, r, r.pick(ENTITY_REFS)) },
  { name: 'insert-pi', apply: (s, r) => insertAfterTag(s, r, r.pick(PIS)) },
  { name: 'insert-cdata', apply: (s, r) => insertAfterTag(s, r, r.pick(CDATAS)) },
  { name: 'insert-comment', apply: (s, r) => insertAfterTag(s, r, r.pick(['<!-- x -->', '<!--', '-->', '<!-- -- -->', '<!--->'])) },
  { name: 'invalid-utf8', apply: (s, r) => insertAt(s, pos(s, r), r.pick(['\xc0\x80', '\xed\xa0\x80', '\x80', '\xf5\x80\x80\x80', '\xff\xfe', '\xe2\x82', '\xf0\x9f\x98'])) },
  { name: 'random-bytes', apply: (s, r) => insertAt(s, pos(s, r), randomBytes(r, r.int(1, 64))) },
  { name: 'utf16', apply: (s, r) => {
    const le = r.chance(0.5);
    const text = Buffer.from(s, 'latin1').toString('utf8');
    let b = Buffer.from(text, 'utf16le');
    if (!le) b.swap16();
    const bom = r.chance(0.6) ? Buffer.from(le ? [0xff, 0xfe] : [0xfe, 0xff]) : Buffer.alloc(0);
    if (r.chance(0.2)) b = b.subarray(0, b.length - 1);
    if (r.chance(0.2)) b = Buffer.concat([b, Buffer.from(le ? [0x00, 0xd8] : [0xd8, 0x00])]);
    return asText(Buffer.concat([bom, b]));
  } },
  { name: 'bom', apply: (s, r) => r.pick(['\xef\xbb\xbf', '\xef\xbb\xbf\xef\xbb\xbf', '\xff\xfe', '\xfe\xff', '\x00\x00\xfe\xff']) + s },
  { name: 'nest', apply: (s, r) => {
    const depth = r.pick([20, 47, 49, 100, 5000, 100_000]);
    const name = r.pick(['a', 'int', 'q:a', 'Body']);
    return insertAfterTag(s, r, `<${name}>`.repeat(depth) + (r.chance(0.8) ? `</${name}>`.repeat(depth) : ''));
  } },
  { name: 'int-array', apply: (s, r) => replaceOne(s, /<(InstalledNonLeafUpdateIDs|OtherCachedUpdateIDs|revisionIDs|CachedDriverIDs)>/g, r, (m) => {
    const item = r.pick(['<int>1</int>', '<int>-1</int>', '<int> 7 </int>', '<p:int xmlns:p="urn:x">3</p:int>', '<int>2147483648</int>',
      '<int></int>', '<int>1<int>', '<string>1</string>', 'text', '<int/>', '<int>99999999999</int>', '<int>&#49;</int>']);
    return m[0] + item.repeat(bounded(item, r.pick([1, 10, 1000, 50_001, 210_000])));
  }) },
  { name: 'second-root', apply: (s, r) => s + r.pick(['<a/>', '<s:Envelope/>', 'x', '\x00']) },
  { name: 'splice-seed', apply: (s, r) => {
    // Recombines the document with a slice of itself at a tag boundary (a poor man's crossover).
    const spots = afterTags(s);
    if (spots.length < 2) return s;
    const a = r.pick(spots);
    const b = r.pick(spots);
    return s.slice(0, a) + s.slice(Math.min(a, b), Math.max(a, b)) + s.slice(a);
  } },
];

export const mutationNames = mutations.map((m) => m.name);

/** One to `maxRounds` random mutations of `seed`; the result is capped at MAX_FUZZ_BODY bytes. */
export function mutate(seed: Uint8Array, r: SeededRandom, maxRounds = 3): Mutated {
  let s = asText(seed);
  const applied: string[] = [];
  for (let k = r.int(1, maxRounds); k > 0; k--) {
    const m = r.pick(mutations);
    s = m.apply(s, r);
    applied.push(m.name);
    if (s.length > MAX_FUZZ_BODY) s = s.slice(0, MAX_FUZZ_BODY);
  }
  return { body: asBytes(s), applied };
}

/** The campaign's seed: WSUS_FUZZ_SEED to replay one, else a fresh one (printed on failure). */
export function campaignSeed(env: NodeJS.ProcessEnv = process.env): string {
  return env.WSUS_FUZZ_SEED && env.WSUS_FUZZ_SEED.trim() !== '' ? env.WSUS_FUZZ_SEED.trim() : `fuzz-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export function campaignIterations(def: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.WSUS_FUZZ_ITERATIONS);
  return Number.isInteger(v) && v > 0 ? v : def;
}

export { SeededRandom };

const JSON_VALUES: Array<(r: SeededRandom) => string> = [
  () => 'null', () => 'true', () => '0', () => '-1', () => '1e308', () => '-0', () => '1.5', () => '9007199254740993', () => '""',
  () => '"\\u0000"', () => '"\\ud800"', () => '[]', () => '{}', () => '"x"', () => '"All Computers"', () => '"../../etc"',
  (r) => JSON.stringify('x'.repeat(r.pick([300, 70_000, 900_000]))),
  (r) => `[${Array.from({ length: r.pick([2, 1000, 100_000]) }, (_, i) => JSON.stringify(`item${i}`)).join(',')}]`,
  (r) => { const n = r.pick([100, 10_000, 200_000]); return '['.repeat(n) + ']'.repeat(n); },
  (r) => { const n = r.pick([100, 10_000]); return '{"a":'.repeat(n) + '1' + '}'.repeat(n); },
  () => '{"__proto__":{"whatIf":false,"role":"admin"}}', () => '{"constructor":{"prototype":{"polluted":1}}}', () => '{"toString":1}',
];

/** A JSON request body derived from `base`: one member replaced by a hostile value, sometimes also byte-mutated. */
export function mutateJson(base: Record<string, unknown>, r: SeededRandom): Mutated {
  const keys = [...Object.keys(base), '__proto__', 'constructor', 'whatIf', 'dryRun', 'extra'];
  const members = Object.entries(base).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  const key = r.pick(keys);
  const value = r.pick(JSON_VALUES)(r);
  const applied = [`json:${key}`];
  const kept = members.filter((m) => !m.startsWith(`${JSON.stringify(key)}:`));
  let text = `{${[...kept, `${JSON.stringify(key)}:${value}`].join(',')}}`;
  if (r.chance(0.1)) text = value;
  let body: Buffer = Buffer.from(text, 'utf8');
  if (r.chance(0.3)) {
    const m = mutate(body, r, 2);
    body = m.body;
    applied.push(...m.applied);
  }
  return { body, applied };
}

/** A query string derived from `base` by the byte mutations, percent-encoded where HTTP needs it. */
export function mutateQuery(base: string, r: SeededRandom): Mutated {
  const m = r.chance(0.5) ? mutate(Buffer.from(base, 'latin1'), r, 2) : { body: Buffer.from(base, 'latin1'), applied: [] };
  let q = '';
  for (const b of m.body.subarray(0, 64 * 1024)) q += b > 0x20 && b < 0x7f && b !== 0x23 ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`;
  const extra = r.pick(['', '&limit=-1', '&limit=99999999999', '&offset=1e3', '&a=%', '&%ZZ=1', '&sort=__proto__', '&text=%00', `&text=${'A'.repeat(20_000)}`, '&limit=1&limit=2']);
  return { body: Buffer.from(q + extra, 'latin1'), applied: [...m.applied, `query${extra.slice(0, 16)}`] };
}
