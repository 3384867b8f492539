import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readXml, XmlSyntaxError, decodeBody } from '../src/protocol/xml/strict-xml-reader.js';

const limits = { maxDepth: 16, maxElements: 1000, maxAttributes: 8, intArrayElements: new Set(['Ids']) };

test('reads namespaces, attributes, entities and CDATA', () => {
  const el = readXml('<?xml version="1.0"?><a:Root xmlns:a="urn:a" x="1&amp;2"><b>t&lt;&#65;&#x42;<![CDATA[<c>]]></b></a:Root>', limits);
  assert.equal(el.ns, 'urn:a');
  assert.equal(el.local, 'Root');
  assert.deepEqual(el.attrs[1], ['x', '1&2']);
  assert.equal(el.children[0]!.text, 't<AB<c>');
});

test('integer arrays are read directly, with any prefix on items', () => {
  const el = readXml('<R xmlns:x="u"><Ids><int>1</int><int> 22 </int><x:int>333</x:int></Ids><Ids xsi:nil="true" xmlns:xsi="u"/></R>', limits);
  assert.deepEqual(el.children[0]!.ints, [1, 22, 333]);
  assert.deepEqual(el.children[1]!.ints, []);
});

for (const [name, xml] of [
  ['DTD', '<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'],
  ['undeclared entity', '<r>&e;</r>'],
  ['external entity reference', '<r>&xxe;</r>'],
  ['processing instruction', '<r><?php x?></r>'],
  ['mismatched tags', '<r><a></b></r>'],
  ['two roots', '<r/><s/>'],
  ['too deep', '<a>'.repeat(20) + '</a>'.repeat(20)],
  ['too many elements', '<r>' + '<a/>'.repeat(2000) + '</r>'],
  ['too many attributes', '<r a="1" b="1" c="1" d="1" e="1" f="1" g="1" h="1" i="1"/>'],
  ['duplicate attribute', '<r a="1" a="2"/>'],
  ['unbound prefix', '<x:r/>'],
  ['bad integer array', '<r><Ids><int>abc</int></Ids></r>'],
  ['integer out of range', '<r><Ids><int>99999999999</int></Ids></r>'],
  ['truncated', '<r><a>'],
  ['bare ampersand', '<r>a & b</r>'],
] as const) {
  test(`refuses ${name}`, () => {
    assert.throws(() => readXml(xml, limits), XmlSyntaxError);
  });
}

test('invalid UTF-8 is refused; UTF-16 with a BOM is read', () => {
  assert.throws(() => decodeBody(Buffer.from([0x3c, 0xff, 0xfe, 0x3e])));
  assert.equal(decodeBody(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<r/>', 'utf16le')])), '<r/>');
});

test('integer arrays read from an ASCII body agree with the character path, including the fallback forms', () => {
  const xml = '<R xmlns:x="u"><Ids>\n <int>1</int><int>2147483647</int> <int> 3 </int><x:int>4</x:int><int>5</int></Ids></R>';
  const bytes = Buffer.from(xml, 'utf8');
  assert.deepEqual(readXml(xml, limits, bytes).children[0]!.ints, [1, 2147483647, 3, 4, 5]);
  assert.deepEqual(readXml(xml, limits).children[0]!.ints, [1, 2147483647, 3, 4, 5]);
  for (const bad of ['<R><Ids><int>2147483648</int></Ids></R>', '<R><Ids><int>1</int><int>x</int></Ids></R>', '<R><Ids><int>1</in></Ids></R>', '<R><Ids><int>1</int>']) {
    assert.throws(() => readXml(bad, limits, Buffer.from(bad)), XmlSyntaxError, bad);
  }
  // A non-ASCII body has different byte and character offsets: the character path is used.
  const accented = '<R a="é"><Ids><int>7</int></Ids></R>';
  assert.deepEqual(readXml(accented, limits, Buffer.from(accented, 'utf8')).children[0]!.ints, [7]);
});
