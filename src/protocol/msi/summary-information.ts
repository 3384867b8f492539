// The "\x05SummaryInformation" property set of an MSI/MSP ([MS-OLEPS]): only
// the first section, and only the value types Windows Installer uses (strings,
// 16/32-bit integers, FILETIMEs). Strict and bounded like the rest of msi/.

import { TextDecoder } from 'node:util';
import { FileStructureError } from './positioned-reader.js';

export const PID = {
  codepage: 1,
  title: 2,
  subject: 3,
  author: 4,
  keywords: 5,
  comments: 6,
  template: 7,
  lastAuthor: 8,
  revisionNumber: 9,
} as const;

const VT_I2 = 2;
const VT_I4 = 3;
const VT_LPSTR = 30;
const VT_FILETIME = 64;
const MAX_PROPERTIES = 64;

const fail: (why: string) => never = (why) => {
  throw new FileStructureError(`summary information: ${why}`);
};

/** Property id → value (strings decoded with the set's code page; FILETIMEs as Dates). */
export function parseSummaryInformation(bytes: Buffer): Map<number, string | number | Date> {
  if (bytes.length < 48) fail('truncated header');
  if (bytes.readUInt16LE(0) !== 0xfffe) fail('bad byte order');
  if (bytes.readUInt32LE(24) < 1) fail('no property set');
  const section = bytes.readUInt32LE(44);
  if (section + 8 > bytes.length) fail('section offset out of range');
  const sectionSize = bytes.readUInt32LE(section);
  const count = bytes.readUInt32LE(section + 4);
  if (sectionSize < 8 || section + sectionSize > bytes.length) fail('section size out of range');
  if (count > MAX_PROPERTIES || 8 + count * 8 > sectionSize) fail('too many properties');
  const end = section + sectionSize;

  const raw: { id: number; at: number }[] = [];
  for (let i = 0; i < count; i++) {
    const id = bytes.readUInt32LE(section + 8 + i * 8);
    const at = section + bytes.readUInt32LE(section + 12 + i * 8);
    if (at + 4 > end) fail(`property ${id} out of range`);
    raw.push({ id, at });
  }
  const codepageEntry = raw.find((p) => p.id === PID.codepage);
  const codepage =
    codepageEntry && bytes.readUInt16LE(codepageEntry.at) === VT_I2 && codepageEntry.at + 6 <= end
      ? bytes.readUInt16LE(codepageEntry.at + 4)
      : 1252;
  const decoder = decoderFor(codepage);

  const out = new Map<number, string | number | Date>();
  for (const { id, at } of raw) {
    const type = bytes.readUInt16LE(at);
    const need = (n: number): void => {
      if (at + 4 + n > end) fail(`property ${id} overruns its section`);
    };
    if (type === VT_I2) {
      need(2);
      out.set(id, bytes.readInt16LE(at + 4));
    } else if (type === VT_I4) {
      need(4);
      out.set(id, bytes.readInt32LE(at + 4));
    } else if (type === VT_FILETIME) {
      need(8);
      const ticks = bytes.readBigUInt64LE(at + 4);
      // 100 ns ticks since 1601-01-01.
      out.set(id, new Date(Number(ticks / 10_000n) - 11_644_473_600_000));
    } else if (type === VT_LPSTR) {
      need(4);
      const size = bytes.readUInt32LE(at + 4);
      need(4 + size);
      let text = bytes.subarray(at + 8, at + 8 + size);
      const nul = text.indexOf(0);
      if (nul >= 0) text = text.subarray(0, nul);
      out.set(id, decoder.decode(text));
    }
    // Other types (clipboard thumbnails, …) carry nothing Windows Installer defines.
  }
  return out;
}

function decoderFor(codepage: number): TextDecoder {
  if (codepage === 65001) return new TextDecoder('utf-8');
  try {
    return new TextDecoder(`windows-${codepage}`);
  } catch {
    return new TextDecoder('windows-1252');
  }
}
