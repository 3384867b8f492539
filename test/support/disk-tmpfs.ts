import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A small tmpfs for disk-full and read-only tests: mounted on a fresh directory, filled to the
// last block on demand, remounted read-only, unmounted at the end. Needs root with mount
// permission (containers often lack it): `mountSmallDisk` then says why it cannot.

export interface SmallDisk {
  dir: string;
  /** writes a filler file until the volume is full; returns its size */
  fill(): number;
  /** deletes the filler */
  free(): void;
  remount(mode: 'ro' | 'rw'): void;
  unmount(): void;
}

export function mountSmallDisk(sizeMiB: number): SmallDisk | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: 'tmpfs mounts need Linux' };
  if (process.getuid?.() !== 0) return { unavailable: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'wsus-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return { unavailable: `mount -t tmpfs failed (no mount permission here?): ${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}` };
  }
  const filler = join(dir, 'filler');
  let mounted = true;
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      let size = 0;
      try {
        for (const chunk of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
          const b = Buffer.alloc(chunk, 0x5a);
          for (;;) {
            try {
              size += writeSync(fd, b);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw e;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return size;
    },
    free() {
      rmSync(filler, { force: true });
    },
    remount(mode) {
      execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
