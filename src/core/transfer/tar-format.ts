// The one tar dialect transfer packages use: POSIX ustar, regular files only, names short
// enough for the 100-byte name field, no prefix, no links, no pax or GNU extension headers.
// Writing it is a few lines; reading it strictly (every field checked, anything else refused)
// is what keeps a hostile package from naming files outside its own namespace.

export const BLOCK = 512;
/** largest size the 11 octal digits of the size field hold; bigger members use base-256 */
const OCTAL_SIZE_MAX = 8 ** 11 - 1;

export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/**
 * A member name a package may carry: relative, `/`-separated segments of letters, digits,
 * `.`, `_` and `-`, none empty and none starting with a dot (so no `.`, `..`, hidden files).
 */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
export const MAX_NAME_BYTES = 99;

/** Why a member name is refused, or null when it is acceptable. */
export function memberNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty member name';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.startsWith('\\')) return `absolute member name ${JSON.stringify(name)}`;
  if (name.split(/[/\\]/).includes('..')) return `member name ${JSON.stringify(name)} climbs out of the package ("..")`;
  if (name.includes('\\')) return `member name ${JSON.stringify(name)} contains a backslash`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `member name ${JSON.stringify(name.slice(0, 120))} is longer than ${MAX_NAME_BYTES} bytes`;
  if (!SAFE_NAME.test(name)) return `member name ${JSON.stringify(name)} has characters or segments packages never use`;
  return null;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new TarFormatError(`tar field too long: ${value}`);
  bytes.copy(buf, offset);
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 digits, zero-padded, then NUL
  writeString(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function writeSize(buf: Buffer, offset: number, size: number): void {
  if (size <= OCTAL_SIZE_MAX) return writeOctal(buf, offset, 12, size);
  // GNU/POSIX-2001 base-256: high bit of the first byte set, big-endian binary in the rest.
  buf[offset] = 0x80;
  let v = BigInt(size);
  for (let i = 11; i >= 1; i--) {
    buf[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function checksumOf(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum;
}

/** The 512-byte ustar header of one regular file. */
export function encodeHeader(name: string, size: number, mtime: Date): Buffer {
  const problem = memberNameProblem(name);
  if (problem) throw new TarFormatError(problem);
  if (!Number.isSafeInteger(size) || size < 0) throw new TarFormatError(`bad member size ${size}`);
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, 124, size);
  writeOctal(h, 136, 12, Math.max(0, Math.floor(mtime.getTime() / 1000)));
  h[156] = 0x30; // '0': regular file
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeString(h, 265, 32, 'wsus');
  writeString(h, 297, 32, 'wsus');
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  const sum = checksumOf(h);
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Zero bytes that complete a member's data to a whole block. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Two zero blocks mark the end of the archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** A NUL-terminated field: the text before the NUL; every byte after it must be NUL too. */
function readField(h: Uint8Array, offset: number, length: number, what: string): string {
  const field = Buffer.from(h.subarray(offset, offset + length));
  const nul = field.indexOf(0);
  if (nul < 0) throw new TarFormatError(`tar header field ${what} is not terminated`);
  for (let i = nul; i < length; i++) if (field[i] !== 0) throw new TarFormatError(`tar header field ${what} has bytes after its end`);
  return field.subarray(0, nul).toString('latin1');
}

function readOctal(h: Uint8Array, offset: number, length: number, what: string): number {
  const raw = Buffer.from(h.subarray(offset, offset + length)).toString('latin1');
  const m = /^ *([0-7]{1,12}) *[\0 ]*$/.exec(raw);
  if (!m) throw new TarFormatError(`tar header field ${what} is not an octal number`);
  const v = parseInt(m[1]!, 8);
  if (!Number.isSafeInteger(v)) throw new TarFormatError(`tar header field ${what} is too large`);
  return v;
}

function readSize(h: Uint8Array): number {
  if (h[124]! & 0x80) {
    if (h[124] !== 0x80) throw new TarFormatError('tar member size is negative or too large');
    let v = 0n;
    for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError('tar member size is too large');
    return Number(v);
  }
  return readOctal(h, 124, 12, 'size');
}

const TYPE_NAMES: Record<string, string> = {
  '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device', '5': 'a directory',
  '6': 'a FIFO', '7': 'a contiguous file', x: 'a pax extended header', g: 'a pax global header',
  L: 'a GNU long name', K: 'a GNU long link name',
};

export interface TarHeader {
  name: string;
  size: number;
}

/** Decodes and checks one header block; throws TarFormatError for anything a package never holds. */
export function decodeHeader(h: Uint8Array): TarHeader {
  if (h.length !== BLOCK) throw new TarFormatError('truncated tar header');
  let stored: number;
  try {
    stored = readOctal(h, 148, 8, 'checksum');
  } catch {
    stored = -1;
  }
  if (stored !== checksumOf(h)) throw new TarFormatError('tar header checksum mismatch (damaged or not a tar file)');
  const magic = Buffer.from(h.subarray(257, 263)).toString('latin1');
  if (magic !== 'ustar\0' || h[263] !== 0x30 || h[264] !== 0x30) {
    throw new TarFormatError('not a POSIX ustar header');
  }
  const type = String.fromCharCode(h[156]!);
  // Name first, so the message can say which member is refused.
  let name: string;
  try {
    name = readField(h, 0, 100, 'name');
  } catch {
    throw new TarFormatError('tar member name is not terminated (oversized name field)');
  }
  if (type !== '0' && type !== '\0') {
    throw new TarFormatError(`member ${JSON.stringify(name)} is ${TYPE_NAMES[type] ?? `of type ${JSON.stringify(type)}`}: packages hold regular files only`);
  }
  if (readField(h, 157, 100, 'linkname') !== '') throw new TarFormatError(`member ${JSON.stringify(name)} names a link target`);
  if (readField(h, 345, 155, 'prefix') !== '') throw new TarFormatError(`member ${JSON.stringify(name)} uses the ustar prefix field (long path)`);
  const problem = memberNameProblem(name);
  if (problem) throw new TarFormatError(problem);
  return { name, size: readSize(h) };
}
