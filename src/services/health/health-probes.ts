import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

// The side effects health needs (file system space, certificate files), behind one interface
// so tests can say "the disk is full" without filling one.

export interface DiskFigures {
  freeBytes: number;
  totalBytes: number;
  /** identifies the volume, so two directories on one volume are reported once */
  device: number | null;
}

export interface HealthProbes {
  disk(path: string): DiskFigures;
  /** the certificate's expiry; throws when the file cannot be read as a certificate */
  certificateValidTo(file: string): Date;
}

/** The nearest existing directory at or above `path` (a data directory may not have a content folder yet). */
function existing(path: string): string {
  let p = path;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

export const systemProbes: HealthProbes = {
  disk(path) {
    const p = existing(path);
    const s = statfsSync(p);
    let device: number | null = null;
    try {
      device = statSync(p).dev;
    } catch {
      device = null;
    }
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, device };
  },
  certificateValidTo(file) {
    const pem = readFileSync(file, 'utf8');
    return new Date(new X509Certificate(pem).validTo);
  },
};
