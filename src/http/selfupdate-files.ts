// The self-update tree: Microsoft-signed files (wuident.cab, client packages) that admins copy
// from a WSUS server into a directory; they cannot be generated. Windows clients ask for them
// in whatever case they like (IIS is case-insensitive) while the copy on disk keeps the case
// it had, so each path segment is matched case-insensitively.
//
// Safety: the request path is checked before the filesystem is touched (no `..`, no encoded
// slash or backslash, no control characters, bounded depth and length), and the resolved real
// path must still lie inside the directory, which also refuses symlinks that point out of it.

import { existsSync, readdirSync } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

const MAX_PATH = 1024;
const MAX_SEGMENTS = 12;
const SEGMENT = /^[A-Za-z0-9_~()+-][A-Za-z0-9._~()+ -]{0,254}$/;

export type SelfUpdateLookup =
  | { kind: 'file'; path: string; size: number; mtimeMs: number }
  | { kind: 'bad-path' }
  | { kind: 'not-found' };

/**
 * Decoded path segments of `rawPath` (the part after `/selfupdate`, still percent-encoded), or
 * null when it could name something outside the tree or is not a plain file name.
 */
export function safeSegments(rawPath: string): string[] | null {
  if (rawPath.length > MAX_PATH) return null;
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return null;
    }
    // The pattern also refuses `.`, `..`, `/`, `\`, NUL and leading dots.
    if (!SEGMENT.test(seg) || segments.length >= MAX_SEGMENTS) return null;
    segments.push(seg);
  }
  return segments;
}

async function entryIn(dir: string, name: string): Promise<string | null> {
  try {
    await lstat(join(dir, name));
    return name;
  } catch {
    // not under that exact name: look for it in another case
  }
  try {
    const lower = name.toLowerCase();
    const match = (await readdir(dir)).filter((e) => e.toLowerCase() === lower).sort()[0];
    return match ?? null;
  } catch {
    return null;
  }
}

export async function findSelfUpdateFile(rootDir: string, rawPath: string): Promise<SelfUpdateLookup> {
  const segments = safeSegments(rawPath);
  if (segments === null) return { kind: 'bad-path' };
  if (segments.length === 0) return { kind: 'not-found' };
  let root: string;
  try {
    root = await realpath(rootDir);
  } catch {
    return { kind: 'not-found' };
  }
  let current = root;
  for (const seg of segments) {
    const name = await entryIn(current, seg);
    if (name === null) return { kind: 'not-found' };
    current = join(current, name);
  }
  try {
    const real = await realpath(current);
    if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) return { kind: 'not-found' };
    const st = await stat(real);
    if (!st.isFile()) return { kind: 'not-found' };
    return { kind: 'file', path: real, size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return { kind: 'not-found' };
  }
}

function hasWuident(dir: string): boolean {
  try {
    return readdirSync(dir).some((e) => e.toLowerCase() === 'wuident.cab');
  } catch {
    return false;
  }
}

export const SELFUPDATE_MISSING =
  'The self-update tree is not installed on this server. Windows 10 and 11 do not need it, but ' +
  'older clients (Windows 7, 8.1, Server 2008 R2, 2012 R2) ask for /selfupdate/wuident.cab and stop ' +
  'talking to a server that lacks it. Copy the Microsoft-signed self-update files (wuident.cab and the ' +
  'client packages below it) from a WSUS server\'s selfupdate folder into the configured selfUpdateDir.';

/** A warning for the `health` command, or null when wuident.cab is in place. */
export function selfUpdateHealth(selfUpdateDir: string): string | null {
  if (!existsSync(selfUpdateDir)) return `selfUpdateDir ${selfUpdateDir} does not exist. ${SELFUPDATE_MISSING}`;
  if (!hasWuident(selfUpdateDir)) return `selfUpdateDir ${selfUpdateDir} has no wuident.cab. ${SELFUPDATE_MISSING}`;
  return null;
}

/** Whether the tree is usable, for the 404 body (checked per 404 only: the admin may copy it in at any time). */
export const selfUpdateInstalled = (selfUpdateDir: string): boolean => hasWuident(selfUpdateDir);
