// Microsoft Cabinet reader ([MS-CAB]): CFHEADER, CFFOLDER, CFFILE and CFDATA,
// with compression types NONE, MSZIP and LZX. Built for small, untrusted,
// single-cabinet inputs such as MS-WSUSSS XmlUpdateBlobCompressed: everything is
// validated before anything is decompressed, the output allocation is bounded by
// a caller-supplied cap, and every inconsistency raises CabinetFormatError.

import { CabinetFormatError } from './errors.js';
import { decodeFolderRange } from './folder-decoder.js';
import { cabinetSignatureSlot } from './signature-slot.js';

export { CabinetFormatError } from './errors.js';

export type CabinetCompression = 'none' | 'mszip' | 'quantum' | 'lzx';

export interface CabinetLimits {
  /** Most bytes one extraction may decompress (the member plus what precedes it in its folder). */
  maxUncompressedBytes: number;
  /** Most CFFILE entries accepted; default 4096. */
  maxMembers?: number;
  /** Verify CFDATA checksums where present (non-zero); default true. */
  verifyChecksums?: boolean;
}

export interface CabinetMember {
  readonly name: string;
  readonly size: number;
  readonly folderIndex: number;
  /** Offset of the member in its folder's uncompressed data. */
  readonly folderOffset: number;
  readonly attributes: number;
  /** MS-DOS date and time words, as stored. */
  readonly date: number;
  readonly time: number;
}

/** One CFDATA block: where its payload lies in the cabinet and what it expands to. */
export interface CabinetDataBlock {
  readonly offset: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

export interface CabinetFolder {
  readonly compression: CabinetCompression;
  /** typeCompress as stored (e.g. 0x1503 = LZX with a 2 MiB window). */
  readonly typeCompress: number;
  /** LZX window size exponent (15..21); 0 for other types. */
  readonly windowBits: number;
  readonly blocks: readonly CabinetDataBlock[];
  readonly uncompressedSize: number;
}

export interface Cabinet {
  readonly folders: readonly CabinetFolder[];
  readonly members: readonly CabinetMember[];
  /** setID and iCabinet, for cabinet sets (which this reader does not follow). */
  readonly setId: number;
  readonly index: number;
}

const HEADER_SIZE = 36;
const FOLDER_SIZE = 8;
const FILE_SIZE = 16;
const DATA_SIZE = 8;
const FLAG_PREV_CABINET = 0x0001;
const FLAG_NEXT_CABINET = 0x0002;
const FLAG_RESERVE_PRESENT = 0x0004;
const MAX_NAME_BYTES = 256;
const MAX_HEADER_RESERVE = 60000;
const MAX_BLOCK_UNCOMPRESSED = 32768;
/** [MS-CAB]: a compressed block may exceed its input by up to 6 KiB. */
const MAX_BLOCK_COMPRESSED = 32768 + 6144;
const ATTR_NAME_IS_UTF = 0x80;
const DEFAULT_MAX_MEMBERS = 4096;

const fail = (message: string): never => {
  throw new CabinetFormatError(message);
};

/** Bounds-checked little-endian reads over the cabinet. */
class View {
  constructor(readonly bytes: Uint8Array) {}

  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw new CabinetFormatError(`cabinet is truncated in ${what}`, 'truncated');
    }
  }
  u8(o: number): number {
    return this.bytes[o];
  }
  u16(o: number): number {
    return this.bytes[o] | (this.bytes[o + 1] << 8);
  }
  u32(o: number): number {
    return (this.bytes[o] | (this.bytes[o + 1] << 8) | (this.bytes[o + 2] << 16) | (this.bytes[o + 3] << 24)) >>> 0;
  }
  /** A NUL-terminated string of at most 256 bytes including the NUL. */
  cstring(offset: number, what: string): { raw: Uint8Array; end: number } {
    const limit = Math.min(this.bytes.length, offset + MAX_NAME_BYTES);
    for (let i = offset; i < limit; i++) {
      if (this.bytes[i] === 0) return { raw: this.bytes.subarray(offset, i), end: i + 1 };
    }
    if (limit === this.bytes.length) throw new CabinetFormatError(`cabinet is truncated in ${what}`, 'truncated');
    throw new CabinetFormatError(`${what} is not terminated within ${MAX_NAME_BYTES} bytes`);
  }
}

/**
 * [MS-CAB] CFDATA checksum: XOR of the data as little-endian 32-bit words, the
 * 1..3 trailing bytes packed high-to-low into one more word.
 */
export function cabinetChecksum(data: Uint8Array, seed = 0): number {
  let sum = seed >>> 0;
  const whole = data.length & ~3;
  for (let i = 0; i < whole; i += 4) {
    sum ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
  }
  let tail = 0;
  for (let i = whole; i < data.length; i++) tail = (tail << 8) | data[i];
  return (sum ^ tail) >>> 0;
}

function describeCompression(typeCompress: number): { compression: CabinetCompression; windowBits: number } {
  const type = typeCompress & 0x000f;
  const param = (typeCompress >>> 8) & 0x1f;
  if (type === 0 && typeCompress === 0) return { compression: 'none', windowBits: 0 };
  if (type === 1 && typeCompress === 1) return { compression: 'mszip', windowBits: 0 };
  if (type === 2) return { compression: 'quantum', windowBits: 0 };
  if (type === 3 && (typeCompress & 0xe0f0) === 0) {
    if (param < 15 || param > 21) return fail(`LZX window 2^${param} is outside 2^15..2^21`);
    return { compression: 'lzx', windowBits: param };
  }
  return fail(`unknown typeCompress 0x${typeCompress.toString(16)}`);
}

/** Parses and validates a whole cabinet without decompressing anything. */
export function readCabinet(bytes: Uint8Array, limits: CabinetLimits): Cabinet {
  const maxMembers = limits.maxMembers ?? DEFAULT_MAX_MEMBERS;
  const verify = limits.verifyChecksums ?? true;
  const v = new View(bytes);
  v.need(0, HEADER_SIZE, 'CFHEADER');
  if (v.u32(0) !== 0x4643534d) fail('not a cabinet (no MSCF signature)');
  if (v.u32(4) !== 0 || v.u32(12) !== 0 || v.u32(20) !== 0) fail('CFHEADER reserved fields are not zero');
  const cbCabinet = v.u32(8);
  if (cbCabinet > bytes.length) {
    throw new CabinetFormatError(`cabinet declares ${cbCabinet} bytes but ${bytes.length} are present`, 'truncated');
  }
  if (cbCabinet < bytes.length && !isAuthenticodeTrailer(bytes, cbCabinet)) {
    fail(`${bytes.length - cbCabinet} bytes follow the cabinet`);
  }
  const coffFiles = v.u32(16);
  if (v.u8(25) !== 1 || v.u8(24) !== 3) fail(`unsupported cabinet version ${v.u8(25)}.${v.u8(24)}`);
  const cFolders = v.u16(26);
  const cFiles = v.u16(28);
  const flags = v.u16(30);
  const setId = v.u16(32);
  const index = v.u16(34);
  if ((flags & ~0x0007) !== 0) fail(`unknown CFHEADER flags 0x${flags.toString(16)}`);
  if (flags & (FLAG_PREV_CABINET | FLAG_NEXT_CABINET)) {
    throw new CabinetFormatError('multi-cabinet sets are not supported', 'unsupported');
  }
  if (cFiles > maxMembers) {
    throw new CabinetFormatError(`cabinet lists ${cFiles} members, more than the limit of ${maxMembers}`, 'limit');
  }

  let at = HEADER_SIZE;
  let folderReserve = 0;
  let dataReserve = 0;
  if (flags & FLAG_RESERVE_PRESENT) {
    v.need(at, 4, 'CFHEADER reserve sizes');
    const headerReserve = v.u16(at);
    folderReserve = v.u8(at + 2);
    dataReserve = v.u8(at + 3);
    if (headerReserve > MAX_HEADER_RESERVE) {
      fail(`CFHEADER reserve of ${headerReserve} bytes exceeds ${MAX_HEADER_RESERVE}`);
    }
    at += 4 + headerReserve;
    v.need(HEADER_SIZE, at - HEADER_SIZE, 'CFHEADER reserve');
  }

  const folderEntries: { dataStart: number; blockCount: number; typeCompress: number }[] = [];
  for (let i = 0; i < cFolders; i++) {
    v.need(at, FOLDER_SIZE + folderReserve, `CFFOLDER ${i}`);
    folderEntries.push({ dataStart: v.u32(at), blockCount: v.u16(at + 4), typeCompress: v.u16(at + 6) });
    at += FOLDER_SIZE + folderReserve;
  }
  if (coffFiles < at) fail(`coffFiles ${coffFiles} overlaps the folder table (ends at ${at})`);
  at = coffFiles;

  const members: CabinetMember[] = [];
  for (let i = 0; i < cFiles; i++) {
    v.need(at, FILE_SIZE, `CFFILE ${i}`);
    const attributes = v.u16(at + 14);
    const { raw, end } = v.cstring(at + FILE_SIZE, `name of CFFILE ${i}`);
    if (raw.length === 0) fail(`CFFILE ${i} has an empty name`);
    const name = Buffer.from(raw).toString(attributes & ATTR_NAME_IS_UTF ? 'utf8' : 'latin1');
    const folderIndex = v.u16(at + 8);
    if (folderIndex >= 0xfffd) {
      throw new CabinetFormatError(`member ${name} continues across cabinets, which is not supported`, 'unsupported');
    }
    if (folderIndex >= cFolders) fail(`member ${name} refers to folder ${folderIndex} of ${cFolders}`);
    members.push({
      name,
      size: v.u32(at),
      folderOffset: v.u32(at + 4),
      folderIndex,
      date: v.u16(at + 10),
      time: v.u16(at + 12),
      attributes,
    });
    at = end;
  }

  const folders: CabinetFolder[] = [];
  let dataFloor = at;
  for (const [i, entry] of folderEntries.entries()) {
    const { compression, windowBits } = describeCompression(entry.typeCompress);
    if (entry.dataStart < dataFloor) fail(`CFDATA of folder ${i} overlaps earlier structures`);
    const blocks: CabinetDataBlock[] = [];
    let pos = entry.dataStart;
    let total = 0;
    for (let b = 0; b < entry.blockCount; b++) {
      const what = `CFDATA ${b} of folder ${i}`;
      v.need(pos, DATA_SIZE + dataReserve, what);
      const checksum = v.u32(pos);
      const cbData = v.u16(pos + 4);
      const cbUncomp = v.u16(pos + 6);
      const payload = pos + DATA_SIZE + dataReserve;
      v.need(payload, cbData, what);
      if (cbUncomp === 0) {
        throw new CabinetFormatError(`${what} continues in another cabinet, which is not supported`, 'unsupported');
      }
      if (cbUncomp > MAX_BLOCK_UNCOMPRESSED) fail(`${what} expands to ${cbUncomp} bytes, more than 32768`);
      if (cbData > MAX_BLOCK_COMPRESSED) fail(`${what} holds ${cbData} bytes, more than ${MAX_BLOCK_COMPRESSED}`);
      if (compression === 'none' && cbData !== cbUncomp) fail(`${what}: stored block sizes differ`);
      if (compression !== 'none' && b > 0 && blocks[b - 1].uncompressedSize !== MAX_BLOCK_UNCOMPRESSED) {
        // MSZIP and LZX frames are 32 KiB; only the last block of a folder may be short.
        fail(`${what} follows a short block`);
      }
      if (verify && checksum !== 0) checkBlockChecksum(bytes, pos, dataReserve, cbData, checksum, what);
      blocks.push({ offset: payload, compressedSize: cbData, uncompressedSize: cbUncomp });
      total += cbUncomp;
      pos = payload + cbData;
    }
    dataFloor = pos;
    folders.push({ compression, typeCompress: entry.typeCompress, windowBits, blocks, uncompressedSize: total });
  }

  for (const m of members) {
    if (m.folderOffset + m.size > folders[m.folderIndex].uncompressedSize) {
      fail(`member ${m.name} lies outside its folder's ${folders[m.folderIndex].uncompressedSize} bytes`);
    }
  }
  return { folders, members, setId, index };
}

/** Signed cabinets carry their Authenticode SignedData right after cbCabinet bytes. */
function isAuthenticodeTrailer(bytes: Uint8Array, cbCabinet: number): boolean {
  const slot = cabinetSignatureSlot(bytes);
  return slot !== undefined && slot.offset === cbCabinet && slot.offset + slot.size === bytes.length;
}

function checkBlockChecksum(
  bytes: Uint8Array,
  pos: number,
  reserve: number,
  cbData: number,
  expected: number,
  what: string,
): void {
  // The sum covers the payload, then cbData and cbUncomp. Whether the per-block
  // reserve is included is ambiguous between the spec's wording and deployed
  // readers, so either form is accepted.
  const sizes = bytes.subarray(pos + 4, pos + 8);
  const payload = bytes.subarray(pos + DATA_SIZE + reserve, pos + DATA_SIZE + reserve + cbData);
  if (cabinetChecksum(sizes, cabinetChecksum(payload)) === expected) return;
  if (reserve > 0) {
    const withReserve = bytes.subarray(pos + DATA_SIZE, pos + DATA_SIZE + reserve + cbData);
    if (cabinetChecksum(sizes, cabinetChecksum(withReserve)) === expected) return;
  }
  fail(`${what} fails its checksum`);
}

/** Finds a member by exact name, or the single member when `name` is undefined. */
export function findMember(cabinet: Cabinet, name?: string): CabinetMember {
  if (name === undefined) {
    if (cabinet.members.length !== 1) fail(`expected one member, found ${cabinet.members.length}`);
    return cabinet.members[0];
  }
  const found = cabinet.members.find((m) => m.name === name);
  if (!found) fail(`cabinet has no member named ${JSON.stringify(name)}`);
  return found!;
}

/** Decompresses one member of an already parsed cabinet. */
export function extractMember(
  bytes: Uint8Array,
  cabinet: Cabinet,
  member: CabinetMember,
  limits: CabinetLimits,
): Buffer {
  const max = limits.maxUncompressedBytes;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError('maxUncompressedBytes must be a non-negative integer');
  }
  const end = member.folderOffset + member.size;
  if (end > max) {
    throw new CabinetFormatError(
      `extracting ${member.name} needs ${end} uncompressed bytes, more than the limit of ${max}`,
      'limit',
    );
  }
  const out = Buffer.alloc(member.size);
  if (member.size === 0) return out;
  decodeFolderRange(bytes, cabinet.folders[member.folderIndex], member.folderOffset, out);
  return out;
}

/**
 * Parses `bytes` as a cabinet and returns member `name` (or the only member).
 * Decompresses only the folder prefix the member needs.
 */
export function extractCabinetMember(bytes: Uint8Array, name: string | undefined, limits: CabinetLimits): Buffer {
  const cabinet = readCabinet(bytes, limits);
  return extractMember(bytes, cabinet, findMember(cabinet, name), limits);
}
