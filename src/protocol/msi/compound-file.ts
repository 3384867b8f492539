// A strict, bounded reader for Compound File Binary (OLE2 structured storage),
// the container of MSI and MSP packages [MS-CFB]. It reads the header, the
// DIFAT/FAT and mini FAT, and the directory tree by positioned reads, and
// streams the content of any stream without loading the file. Every chain is
// walked with a visited set and a length bound, so cycles and cross-links are
// reported as FileStructureError instead of looping or exhausting memory.
// Memory: the FAT (file size / 128 at most), the directory (≤ 65,536 entries)
// and the mini FAT/mini stream map (≤ 256 MiB mini stream); stream content is
// only ever held in 1 MiB runs, or whole for small streams a caller caps.

import type { Hash } from 'node:crypto';
import { FileStructureError, HASH_CHUNK_BYTES, type PositionedReader } from './positioned-reader.js';

export const CFB_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

const HEADER_SIZE = 512;
const DIFAT_IN_HEADER = 109;
const MAXREGSECT = 0xfffffffa;
const DIFSECT = 0xfffffffc;
const FATSECT = 0xfffffffd;
const ENDOFCHAIN = 0xfffffffe;
const FREESECT = 0xffffffff;
const NOSTREAM = 0xffffffff;
const MINI_SECTOR = 64;
const MINI_CUTOFF = 4096;
const DIRENT = 128;

/** Limits that keep a hostile file from costing more than a few tens of MiB. */
export const COMPOUND_FILE_LIMITS = {
  /** File size (the FAT of a 4 GiB, 512-byte-sector file is 32 MiB). */
  maxFileBytes: 4 * 1024 * 1024 * 1024,
  maxDirectoryEntries: 65_536,
  maxDepth: 32,
  /** Mini stream (holds streams under 4 KiB). */
  maxMiniStreamBytes: 256 * 1024 * 1024,
} as const;

export type EntryType = 'storage' | 'stream' | 'root';

export interface DirectoryEntry {
  readonly id: number;
  /** Raw UTF-16LE name bytes without the terminating NUL. */
  readonly nameBytes: Buffer;
  readonly name: string;
  readonly type: EntryType;
  readonly clsid: Buffer;
  readonly stateBits: Buffer;
  readonly creationTime: Buffer;
  readonly modifiedTime: Buffer;
  readonly startSector: number;
  readonly size: number;
  /** The raw 8-byte size field as stored (osslsigncode's pre-hash uses its low half). */
  readonly sizeField: Buffer;
  readonly children: DirectoryEntry[];
}

export interface CompoundFile {
  readonly majorVersion: 3 | 4;
  readonly sectorSize: number;
  readonly root: DirectoryEntry;
  /** Feeds a stream's content to `hash`, 1 MiB at a time at most. */
  hashStream(entry: DirectoryEntry, hash: Hash): Promise<void>;
  /** A whole stream, refused when larger than `maxBytes`. */
  readStream(entry: DirectoryEntry, maxBytes: number): Promise<Buffer>;
}

const fail: (why: string) => never = (why) => {
  throw new FileStructureError(`compound file: ${why}`);
};

export async function isCompoundFile(reader: PositionedReader): Promise<boolean> {
  return reader.size >= 8 && (await reader.read(0, 8)).equals(CFB_MAGIC);
}

export async function openCompoundFile(reader: PositionedReader): Promise<CompoundFile> {
  if (reader.size > COMPOUND_FILE_LIMITS.maxFileBytes) fail('file too large');
  if (reader.size < HEADER_SIZE) fail('truncated header');
  const header = await reader.read(0, HEADER_SIZE);
  if (!header.subarray(0, 8).equals(CFB_MAGIC)) fail('bad signature');
  const majorVersion = header.readUInt16LE(0x1a);
  const sectorShift = header.readUInt16LE(0x1e);
  if (header.readUInt16LE(0x1c) !== 0xfffe) fail('bad byte order mark');
  if (!((majorVersion === 3 && sectorShift === 9) || (majorVersion === 4 && sectorShift === 12))) {
    fail(`unsupported version ${majorVersion} / sector shift ${sectorShift}`);
  }
  if (header.readUInt16LE(0x20) !== 6) fail('mini sector size must be 64');
  if (header.readUInt32LE(0x38) !== MINI_CUTOFF) fail('mini stream cutoff must be 4096');
  const sectorSize = 1 << sectorShift;
  const directorySectorCount = header.readUInt32LE(0x28);
  if (majorVersion === 3 && directorySectorCount !== 0) fail('version 3 files must not count directory sectors');
  const fatSectorCount = header.readUInt32LE(0x2c);
  const firstDirectorySector = header.readUInt32LE(0x30);
  const firstMiniFatSector = header.readUInt32LE(0x3c);
  const miniFatSectorCount = header.readUInt32LE(0x40);
  const firstDifatSector = header.readUInt32LE(0x44);
  const difatSectorCount = header.readUInt32LE(0x48);

  // Sectors that exist (at least partly) in the file; every sector number must be below this.
  const maxSector = Math.max(0, Math.ceil((reader.size - sectorSize) / sectorSize));
  const entriesPerSector = sectorSize / 4;
  // A FAT needs one sector per entriesPerSector sectors; the bound keeps its memory near file size / 128.
  if (fatSectorCount === 0 || fatSectorCount > Math.ceil(maxSector / entriesPerSector) + 8) {
    fail(`implausible FAT sector count ${fatSectorCount}`);
  }
  const sectorOffset = (sector: number): number => {
    if (sector >= maxSector) fail(`sector ${sector} lies past the end of the file`);
    return (sector + 1) * sectorSize;
  };
  const readSector = (sector: number): Promise<Buffer> => {
    const at = sectorOffset(sector);
    // The last sector may be short in a file that was truncated after its final stream.
    return reader.read(at, Math.min(sectorSize, reader.size - at)).then((b) =>
      b.length === sectorSize ? b : Buffer.concat([b, Buffer.alloc(sectorSize - b.length)]),
    );
  };

  // ---- DIFAT: where the FAT sectors are ----
  const fatSectors: number[] = [];
  for (let i = 0; i < DIFAT_IN_HEADER && fatSectors.length < fatSectorCount; i++) {
    fatSectors.push(header.readUInt32LE(0x4c + i * 4));
  }
  const seenDifat = new Set<number>();
  let difat = firstDifatSector;
  for (let n = 0; fatSectors.length < fatSectorCount; n++) {
    if (n >= difatSectorCount || difat === ENDOFCHAIN || difat === FREESECT) fail('DIFAT chain ends before all FAT sectors');
    if (seenDifat.has(difat)) fail('DIFAT chain loops');
    seenDifat.add(difat);
    const sector = await readSector(difat);
    for (let i = 0; i < entriesPerSector - 1 && fatSectors.length < fatSectorCount; i++) {
      fatSectors.push(sector.readUInt32LE(i * 4));
    }
    difat = sector.readUInt32LE(sectorSize - 4);
  }

  // ---- FAT ----
  const fat = new Uint32Array(fatSectorCount * entriesPerSector);
  const seenFat = new Set<number>();
  for (let i = 0; i < fatSectors.length; i++) {
    const s = fatSectors[i];
    if (s > MAXREGSECT || seenFat.has(s)) fail('bad or repeated FAT sector');
    seenFat.add(s);
    const sector = await readSector(s);
    for (let j = 0; j < entriesPerSector; j++) fat[i * entriesPerSector + j] = sector.readUInt32LE(j * 4);
  }
  for (const s of fatSectors) if (s < fat.length && fat[s] !== FATSECT) fail('a FAT sector is not marked FATSECT');
  for (const s of seenDifat) if (s < fat.length && fat[s] !== DIFSECT) fail('a DIFAT sector is not marked DIFSECT');

  /**
   * The sectors of a chain of exactly `count` sectors, lazily. Requiring the
   * chain to end (ENDOFCHAIN) right after `count` sectors also rules out loops:
   * a chain that revisits a sector repeats forever and never reaches the end.
   */
  function* sectorsOf(start: number, count: number): Generator<number> {
    let s = start;
    for (let i = 0; i < count; i++) {
      if (s > MAXREGSECT || s >= fat.length || s >= maxSector) fail(`bad sector ${s} in a chain`);
      yield s;
      s = fat[s];
    }
    if (s !== ENDOFCHAIN) fail('sector chain does not end where its stream does (loop or wrong size)');
  }

  /** A chain of unknown length (the directory), at most `limit` sectors, cycle-checked. */
  const chainOfUnknownLength = (start: number, limit: number): number[] => {
    const out: number[] = [];
    const seen = new Set<number>();
    for (let s = start; s !== ENDOFCHAIN; s = fat[s]) {
      if (s > MAXREGSECT || s >= fat.length || s >= maxSector) fail(`bad sector ${s} in a chain`);
      if (seen.has(s)) fail('sector chain loops');
      if (out.length >= limit) fail('sector chain too long');
      seen.add(s);
      out.push(s);
    }
    return out;
  };

  // ---- directory ----
  const directorySectors = chainOfUnknownLength(firstDirectorySector, Math.ceil((COMPOUND_FILE_LIMITS.maxDirectoryEntries * DIRENT) / sectorSize));
  const raw: Buffer[] = [];
  for (const s of directorySectors) {
    const sector = await readSector(s);
    for (let i = 0; i < sectorSize; i += DIRENT) raw.push(sector.subarray(i, i + DIRENT));
  }
  if (raw.length === 0) fail('empty directory');

  const parseEntry = (id: number): DirectoryEntry => {
    const b = raw[id];
    if (!b) fail(`directory entry ${id} does not exist`);
    const nameLength = b.readUInt16LE(0x40);
    const typeByte = b[0x42];
    const type: EntryType | undefined = typeByte === 1 ? 'storage' : typeByte === 2 ? 'stream' : typeByte === 5 ? 'root' : undefined;
    if (!type) fail(`directory entry ${id} has type ${typeByte}`);
    if ((type === 'root') !== (id === 0)) fail('the root entry must be entry 0 and only entry 0');
    if (nameLength < 2 || nameLength > 64 || nameLength % 2 !== 0) fail(`directory entry ${id} has a bad name length`);
    if (b.readUInt16LE(nameLength - 2) !== 0) fail(`directory entry ${id} name is not NUL-terminated`);
    const nameBytes = Buffer.from(b.subarray(0, nameLength - 2));
    const sizeLow = b.readUInt32LE(0x78);
    const sizeHigh = b.readUInt32LE(0x7c);
    // Version 3 writers may leave garbage in the high half; the spec says to ignore it.
    const size = majorVersion === 3 ? sizeLow : sizeHigh * 2 ** 32 + sizeLow;
    if (type !== 'storage' && size > reader.size && !(type === 'root' && size === 0)) fail(`stream ${id} is larger than the file`);
    return {
      id,
      nameBytes,
      name: nameBytes.toString('utf16le'),
      type,
      clsid: Buffer.from(b.subarray(0x50, 0x60)),
      stateBits: Buffer.from(b.subarray(0x60, 0x64)),
      creationTime: Buffer.from(b.subarray(0x64, 0x6c)),
      modifiedTime: Buffer.from(b.subarray(0x6c, 0x74)),
      startSector: b.readUInt32LE(0x74),
      size: type === 'storage' ? 0 : size,
      sizeField: Buffer.from(b.subarray(0x78, 0x80)),
      children: [],
    };
  };

  // Walk the red-black sibling trees iteratively; each entry may be reached once.
  const root = parseEntry(0);
  const reached = new Set<number>([0]);
  const pending: { storage: DirectoryEntry; raw: Buffer; depth: number }[] = [{ storage: root, raw: raw[0], depth: 0 }];
  while (pending.length > 0) {
    const { storage, raw: storageRaw, depth } = pending.pop()!;
    if (depth > COMPOUND_FILE_LIMITS.maxDepth) fail('storages nested too deeply');
    const stack = [storageRaw.readUInt32LE(0x4c)];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === NOSTREAM) continue;
      if (id > MAXREGSECT || id >= raw.length) fail(`directory link ${id} out of range`);
      if (reached.has(id)) fail('directory tree loops or shares an entry');
      reached.add(id);
      const entry = parseEntry(id);
      storage.children.push(entry);
      stack.push(raw[id].readUInt32LE(0x44), raw[id].readUInt32LE(0x48));
      if (entry.type === 'storage') pending.push({ storage: entry, raw: raw[id], depth: depth + 1 });
      else if (raw[id].readUInt32LE(0x4c) !== NOSTREAM) fail('a stream has children');
    }
  }

  // ---- mini FAT and mini stream ----
  // The mini FAT needs 4 bytes per 64-byte mini sector of the (capped) mini stream.
  if (miniFatSectorCount * sectorSize > (COMPOUND_FILE_LIMITS.maxMiniStreamBytes / MINI_SECTOR) * 4) fail('mini FAT too large');
  const miniFatSectors = [...sectorsOf(firstMiniFatSector, miniFatSectorCount)];
  const miniFat = new Uint32Array(miniFatSectors.length * entriesPerSector);
  for (let i = 0; i < miniFatSectors.length; i++) {
    const sector = await readSector(miniFatSectors[i]);
    for (let j = 0; j < entriesPerSector; j++) miniFat[i * entriesPerSector + j] = sector.readUInt32LE(j * 4);
  }
  if (root.size > COMPOUND_FILE_LIMITS.maxMiniStreamBytes) fail('mini stream too large');
  const miniStreamSectors = [...sectorsOf(root.startSector, Math.ceil(root.size / sectorSize))];

  /** File extents [offset, length) of a stream, in order, adjacent ones merged, at most 1 MiB each. */
  function* extents(entry: DirectoryEntry): Generator<[number, number]> {
    if (entry.type !== 'stream') fail('not a stream');
    let run: [number, number] | undefined;
    const pieces = entry.size < MINI_CUTOFF ? miniPieces(entry) : regularPieces(entry);
    for (const [offset, length] of pieces) {
      if (run && run[0] + run[1] === offset && run[1] + length <= HASH_CHUNK_BYTES) {
        run[1] += length;
        continue;
      }
      if (run) yield run;
      run = [offset, length];
    }
    if (run) yield run;
  }

  function* regularPieces(entry: DirectoryEntry): Generator<[number, number]> {
    let remaining = entry.size;
    for (const s of sectorsOf(entry.startSector, Math.ceil(entry.size / sectorSize))) {
      const length = Math.min(sectorSize, remaining);
      yield [sectorOffset(s), length];
      remaining -= length;
    }
  }

  function* miniPieces(entry: DirectoryEntry): Generator<[number, number]> {
    let remaining = entry.size;
    let m = entry.startSector;
    // Fewer than 64 mini sectors (4 KiB); the exact-length rule rules out loops as for sectors.
    for (let i = 0, count = Math.ceil(entry.size / MINI_SECTOR); i < count; i++) {
      if (m >= miniFat.length || m * MINI_SECTOR >= root.size) fail(`bad mini sector ${m}`);
      const within = m * MINI_SECTOR;
      const length = Math.min(MINI_SECTOR, remaining);
      yield [sectorOffset(miniStreamSectors[Math.floor(within / sectorSize)]) + (within % sectorSize), length];
      remaining -= length;
      m = miniFat[m];
    }
    if (m !== ENDOFCHAIN) fail('mini sector chain does not end where its stream does');
  }

  return {
    majorVersion: majorVersion as 3 | 4,
    sectorSize,
    root,
    async hashStream(entry, hash) {
      for (const [offset, length] of extents(entry)) await reader.hashRange(hash, offset, offset + length);
    },
    async readStream(entry, maxBytes) {
      if (entry.size > maxBytes) fail(`stream ${entry.name} is larger than ${maxBytes} bytes`);
      const parts: Buffer[] = [];
      for (const [offset, length] of extents(entry)) parts.push(await reader.read(offset, length));
      return Buffer.concat(parts);
    },
  };
}
