import { resolve } from 'node:path';

// The `transfer` section: export packages for disconnected networks. The exporting server signs
// each package's manifest with `signingCert` + `signingKey` (`wsus cert create --signing`); an
// importing server accepts only packages signed by one of `trustedCerts` (the signing
// certificate itself, or a CA certificate that issued it). Paths are relative to the data
// directory.

export interface TransferConfig {
  signingCert: string | null;
  signingKey: string | null;
  trustedCerts: string[];
  /** an upload larger than this is refused while it arrives (default 256 GiB) */
  maxPackageBytes: number;
}

export const DEFAULT_MAX_PACKAGE_BYTES = 256 * 1024 ** 3;
const KNOWN = ['signingCert', 'signingKey', 'trustedCerts', 'maxPackageBytes'];

type Raw = Record<string, unknown>;

export function validateTransferConfig(raw: unknown, dataDir: string, problems: string[]): TransferConfig {
  let s: Raw = {};
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) problems.push('transfer must be an object');
    else s = raw as Raw;
  }
  for (const k of Object.keys(s)) if (!KNOWN.includes(k)) problems.push(`unknown key "transfer.${k}"`);
  const file = (k: string, v: unknown): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`transfer.${k} must be a file path`);
      return null;
    }
    return resolve(dataDir, v);
  };
  const signingCert = file('signingCert', s.signingCert);
  const signingKey = file('signingKey', s.signingKey);
  if ((signingCert === null) !== (signingKey === null)) problems.push('transfer.signingCert and transfer.signingKey must be given together');
  const trustedCerts: string[] = [];
  if (s.trustedCerts !== undefined) {
    if (!Array.isArray(s.trustedCerts)) problems.push('transfer.trustedCerts must be a list of PEM file paths');
    else s.trustedCerts.forEach((v, i) => {
      const f = file(`trustedCerts[${i}]`, v);
      if (f) trustedCerts.push(f);
    });
  }
  let maxPackageBytes = DEFAULT_MAX_PACKAGE_BYTES;
  if (s.maxPackageBytes !== undefined) {
    const v = s.maxPackageBytes;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1024 * 1024) problems.push(`transfer.maxPackageBytes must be an integer of at least 1048576 (got ${JSON.stringify(v)})`);
    else maxPackageBytes = n;
  }
  return { signingCert, signingKey, trustedCerts, maxPackageBytes };
}
