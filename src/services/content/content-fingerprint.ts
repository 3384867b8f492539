import type { BigIntStats } from 'node:fs';

// A stored file's identity on disk: inode, size, and modification and change times in
// nanoseconds. Any write to the file (even one that keeps its size) moves mtime or ctime, so a
// fingerprint equal to the one recorded when the bytes were last hashed means the bytes are
// still the ones that were verified; serving needs no hashing then.

export function fingerprintOf(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}
