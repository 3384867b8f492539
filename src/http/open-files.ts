// Open file descriptors kept for reuse across requests. A Delivery Optimization client fetches
// a file as hundreds of 1 MiB ranges; opening and closing it for each one cost two thread-pool
// round trips per range, and on the virtual machines this server typically runs on, waking a
// pool thread was measured at about 40 µs of main-thread time each (bench/content, CPU profile).
//
// Content files are immutable (addressed by digest), so a descriptor stays valid for as long as
// it is open; a file removed meanwhile is still the same bytes. A descriptor is keyed by path
// AND version (when the file was stored, or its mtime): a file quarantined and stored again
// under the same path is opened afresh, never read through the descriptor of the old inode.
// Descriptors are reference counted and closed only when unused: after `idleMs` without use or
// when more than `maxOpen` are idle, so removed files release their disk space within `idleMs`.

import { close, open } from 'node:fs';

export interface FileHandle {
  fd: number;
  /** call exactly once, when no read is in flight any more */
  release(): void;
}

interface Entry {
  fd: number;
  refs: number;
  lastUsed: number;
}

export class OpenFiles {
  private readonly entries = new Map<string, Entry>();
  private readonly opening = new Map<string, Array<(err: NodeJS.ErrnoException | null, h?: FileHandle) => void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly maxOpen = 64, private readonly idleMs = 10_000) {
    this.timer = setInterval(() => this.sweep(Date.now() - this.idleMs), Math.max(1000, idleMs / 2));
    this.timer.unref();
  }

  acquire(path: string, version: number, cb: (err: NodeJS.ErrnoException | null, h?: FileHandle) => void): void {
    const key = `${version}\0${path}`;
    const e = this.entries.get(key);
    if (e) {
      cb(null, this.handle(key, e));
      return;
    }
    const waiting = this.opening.get(key);
    if (waiting) {
      waiting.push(cb);
      return;
    }
    this.opening.set(key, [cb]);
    open(path, 'r', (err, fd) => {
      const waiters = this.opening.get(key) ?? [];
      this.opening.delete(key);
      if (err) {
        for (const w of waiters) w(err);
        return;
      }
      const entry: Entry = { fd, refs: 0, lastUsed: Date.now() };
      this.entries.set(key, entry);
      for (const w of waiters) w(null, this.handle(key, entry));
      this.trim();
    });
  }

  private handle(key: string, e: Entry): FileHandle {
    e.refs++;
    e.lastUsed = Date.now();
    // Re-inserting keeps the map in least-recently-used order for trim().
    this.entries.delete(key);
    this.entries.set(key, e);
    let released = false;
    return {
      fd: e.fd,
      release: () => {
        if (released) return;
        released = true;
        e.refs--;
        e.lastUsed = Date.now();
        if (this.entries.get(key) !== e && e.refs === 0) close(e.fd, () => undefined);
        else this.trim();
      },
    };
  }

  private trim(): void {
    let excess = this.entries.size - this.maxOpen;
    for (const [key, e] of this.entries) {
      if (excess <= 0) break;
      if (e.refs > 0) continue;
      this.entries.delete(key);
      close(e.fd, () => undefined);
      excess--;
    }
  }

  /** Closes idle descriptors unused since `before` (ms). */
  sweep(before = Infinity): void {
    for (const [key, e] of this.entries) {
      if (e.refs > 0 || e.lastUsed > before) continue;
      this.entries.delete(key);
      close(e.fd, () => undefined);
    }
  }
}
