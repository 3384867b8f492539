// Read-only access to the tables of an MSI/MSP database inside its compound
// file: stream-name decoding, the shared string pool (_StringPool/_StringData),
// column definitions (_Columns) and column-major table streams. Everything is
// size-capped; anything inconsistent is a FileStructureError.

import type { CompoundFile, DirectoryEntry } from './compound-file.js';
import { TextDecoder } from 'node:util';
import { FileStructureError } from './positioned-reader.js';

export const MSI_DATABASE_LIMITS = {
  stringDataBytes: 64 * 1024 * 1024,
  stringPoolBytes: 16 * 1024 * 1024,
  tableBytes: 16 * 1024 * 1024,
} as const;

const fail: (why: string) => never = (why) => {
  throw new FileStructureError(`MSI database: ${why}`);
};

const MIME = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._';

/**
 * Decodes an MSI stream name: code units 0x3800..0x47FF pack two characters of
 * a 64-letter alphabet, 0x4800..0x483F one, and 0x4840 marks a table ('!').
 */
export function decodeStreamName(name: string): string {
  let out = '';
  for (const ch of name) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x3800 && c < 0x4800) {
      const v = c - 0x3800;
      out += MIME[v & 0x3f] + MIME[v >> 6];
    } else if (c >= 0x4800 && c < 0x4840) {
      out += MIME[c - 0x4800];
    } else if (c === 0x4840) {
      out += '!';
    } else {
      out += ch;
    }
  }
  return out;
}

/** Root-level streams by decoded name ("!Property", "\x05SummaryInformation", …). */
export function rootStreams(file: CompoundFile): Map<string, DirectoryEntry> {
  const streams = new Map<string, DirectoryEntry>();
  for (const child of file.root.children) {
    if (child.type !== 'stream') continue;
    const name = decodeStreamName(child.name);
    if (streams.has(name)) fail(`duplicate stream ${JSON.stringify(name)}`);
    streams.set(name, child);
  }
  return streams;
}

function textDecoderFor(codepage: number): TextDecoder {
  if (codepage === 65001) return new TextDecoder('utf-8', { fatal: true });
  try {
    // 0 is "neutral" (ASCII in practice); 1252 is what most packages use.
    return new TextDecoder(codepage === 0 ? 'windows-1252' : `windows-${codepage}`, { fatal: true });
  } catch {
    return new TextDecoder('windows-1252');
  }
}

export interface MsiDatabase {
  /** Bytes per string reference in table rows (2, or 3 for very large pools). */
  readonly stringRefBytes: 2 | 3;
  /** String by id; id 0 is null. */
  string(id: number): string | null;
  /** Rows of a table as string/number/null cells, by column name. */
  table(name: string): Promise<Record<string, string | number | null>[] | undefined>;
}

const STRING_COLUMN = 0x0d00;
const SHORT_COLUMN = 0x0502;

interface Column {
  readonly name: string;
  readonly number: number;
  readonly type: number;
}

export async function openMsiDatabase(file: CompoundFile): Promise<MsiDatabase> {
  const streams = rootStreams(file);
  const poolEntry = streams.get('!_StringPool');
  const dataEntry = streams.get('!_StringData');
  if (!poolEntry || !dataEntry) fail('no string pool');
  const pool = await file.readStream(poolEntry!, MSI_DATABASE_LIMITS.stringPoolBytes);
  const data = await file.readStream(dataEntry!, MSI_DATABASE_LIMITS.stringDataBytes);
  if (pool.length % 4 !== 0 || pool.length < 4) fail('string pool size is not a multiple of 4');
  const word = (i: number): number => pool.readUInt16LE(i * 2);
  const stringRefBytes: 2 | 3 = word(1) & 0x8000 ? 3 : 2;
  const decoder = textDecoderFor(word(0) | ((word(1) & 0x7fff) << 16));

  // [offset, size] per string id, decoded only when asked for (one bad string must not sink the rest).
  const strings: ([number, number] | null)[] = [null];
  const count = pool.length / 4;
  let offset = 0;
  for (let i = 1; i < count; ) {
    const length = word(i * 2);
    const refs = word(i * 2 + 1);
    if (length === 0 && refs === 0) {
      strings.push(null);
      i += 1;
      continue;
    }
    let size = length;
    if (length === 0) {
      // A string over 64 KiB: the next entry holds the low word and the high word of the length.
      if (i + 1 >= count) fail('truncated long string entry');
      size = word(i * 2 + 3) * 0x10000 + word(i * 2 + 2);
      i += 2;
    } else {
      i += 1;
    }
    if (offset + size > data.length) fail('string pool overruns the string data');
    strings.push([offset, size]);
    offset += size;
  }
  if (offset !== data.length) fail('string data longer than the pool describes');

  const string = (id: number): string | null => {
    if (id >= strings.length) fail(`string id ${id} out of range`);
    const span = strings[id];
    if (!span) return null;
    try {
      return decoder.decode(data.subarray(span[0], span[0] + span[1]));
    } catch {
      return fail(`string ${id} is not valid in the database code page`);
    }
  };

  const readColumns = async (entry: DirectoryEntry, columns: readonly Column[]): Promise<Record<string, string | number | null>[]> => {
    const widths = columns.map((c) => columnBytes(c.type, stringRefBytes));
    const rowBytes = widths.reduce((a, b) => a + b, 0);
    const bytes = await file.readStream(entry, MSI_DATABASE_LIMITS.tableBytes);
    if (rowBytes === 0 || bytes.length % rowBytes !== 0) fail(`table stream ${entry.id} is not a whole number of rows`);
    const rows = bytes.length / rowBytes;
    const out = Array.from({ length: rows }, () => ({}) as Record<string, string | number | null>);
    let at = 0;
    columns.forEach((column, c) => {
      const width = widths[c];
      for (let r = 0; r < rows; r++, at += width) {
        const raw = width === 4 ? bytes.readUInt32LE(at) : width === 3 ? bytes.readUIntLE(at, 3) : bytes.readUInt16LE(at);
        let value: string | number | null;
        if (isString(column.type)) value = string(raw);
        else if (isObject(column.type)) value = raw === 0 ? null : raw;
        else if (raw === 0) value = null;
        else value = width === 4 ? raw - 0x80000000 : raw - 0x8000; // integers are stored biased
        out[r][column.name] = value;
      }
    });
    return out;
  };

  const columnsEntry = streams.get('!_Columns');
  if (!columnsEntry) fail('no _Columns table');
  const columnRows = await readColumns(columnsEntry!, [
    { name: 'Table', number: 1, type: STRING_COLUMN | 64 },
    { name: 'Number', number: 2, type: SHORT_COLUMN },
    { name: 'Name', number: 3, type: STRING_COLUMN | 64 },
    { name: 'Type', number: 4, type: SHORT_COLUMN },
  ]);

  return {
    stringRefBytes,
    string,
    async table(name) {
      const entry = streams.get(`!${name}`);
      if (!entry) return undefined;
      const columns = columnRows
        .filter((row) => row.Table === name)
        .map((row) => {
          if (typeof row.Name !== 'string' || typeof row.Number !== 'number' || typeof row.Type !== 'number') {
            fail(`bad _Columns row for ${name}`);
          }
          return { name: row.Name as string, number: row.Number as number, type: (row.Type as number) & 0xffff };
        })
        .sort((a, b) => a.number - b.number);
      if (columns.length === 0) fail(`table ${name} has no columns`);
      columns.forEach((c, i) => c.number !== i + 1 && fail(`table ${name} columns are not numbered 1..n`));
      return readColumns(entry, columns);
    },
  };
}

// Column types as _Columns stores them (msidefs icd*): 0x0C00 string, 0x0800
// object (a stream; the cell holds a 2-byte ref), otherwise an integer of width
// type & 0xff; 0x0100 persistent, 0x0200 localizable, 0x1000 nullable.
const isString = (type: number): boolean => (type & 0x0c00) === 0x0c00;
const isObject = (type: number): boolean => (type & 0x0c00) === 0x0800;

/** Width of a cell in bytes. */
function columnBytes(type: number, stringRefBytes: number): number {
  if (isString(type)) return stringRefBytes;
  if (isObject(type)) return 2;
  const width = type & 0xff;
  if (width <= 2) return 2;
  if (width === 4) return 4;
  return fail(`unsupported column width ${width}`);
}
