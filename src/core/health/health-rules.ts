// The thresholds `wsus health` judges by: each takes figures and returns ok / warn / red.
// Pure, so the numbers an admin reads in docs are the numbers tested.

export type CheckStatus = 'ok' | 'warn' | 'red';

export const GIB = 1024 ** 3;
/** free space below this share of the volume is a warning */
export const DISK_WARN_SHARE = 0.10;
/** below this share, or below DISK_RED_BYTES, the server is unhealthy */
export const DISK_RED_SHARE = 0.02;
export const DISK_RED_BYTES = GIB;

export function diskStatus(freeBytes: number, totalBytes: number): CheckStatus {
  if (totalBytes <= 0) return 'warn';
  const share = freeBytes / totalBytes;
  if (share < DISK_RED_SHARE || freeBytes < DISK_RED_BYTES) return 'red';
  if (share < DISK_WARN_SHARE) return 'warn';
  return 'ok';
}

/** a certificate expiring within this many days is a warning; an expired one is red */
export const CERT_WARN_DAYS = 30;

export function certificateStatus(validTo: Date, now: Date): { status: CheckStatus; daysLeft: number } {
  const daysLeft = Math.floor((validTo.getTime() - now.getTime()) / 86_400_000);
  if (validTo.getTime() <= now.getTime()) return { status: 'red', daysLeft };
  return { status: daysLeft < CERT_WARN_DAYS ? 'warn' : 'ok', daysLeft };
}

/**
 * Windows Update Agent events that report a failure (PROTOCOL.md): scan failed (148),
 * initialization/registration failed (157, 158), download failed (161), install failed (182),
 * install killed (187), post-reboot failures (203, 204). Any event with a non-zero HRESULT
 * counts as a failure too.
 */
export const FAILURE_EVENT_IDS: readonly number[] = [148, 157, 158, 161, 182, 187, 203, 204];
export const CLIENT_WINDOW_DAYS = 7;
/** fewer events than this in the window say nothing about a rate */
export const CLIENT_MIN_EVENTS = 20;
export const CLIENT_WARN_SHARE = 0.10;
export const CLIENT_RED_SHARE = 0.50;

export function clientFailureStatus(events: number, failures: number): CheckStatus {
  if (events < CLIENT_MIN_EVENTS) return 'ok';
  const share = failures / events;
  if (share >= CLIENT_RED_SHARE) return 'red';
  if (share >= CLIENT_WARN_SHARE) return 'warn';
  return 'ok';
}

/** a catalog nothing was added to for this long is worth a look (no sync, no import) */
export const CATALOG_STALE_DAYS = 30;

export function catalogAgeStatus(newestIngestedAt: string | null, now: Date): CheckStatus {
  if (newestIngestedAt === null) return 'warn';
  return now.getTime() - Date.parse(newestIngestedAt) > CATALOG_STALE_DAYS * 86_400_000 ? 'warn' : 'ok';
}

export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.includes('red')) return 'red';
  if (statuses.includes('warn')) return 'warn';
  return 'ok';
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
