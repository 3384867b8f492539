import type { UpdateIdentity } from '../server-sync/server-sync-model.js';

// Small pure helpers for moving revision lists through GetUpdateData in bounded batches.

export function identityKey(id: UpdateIdentity): string {
  return `${id.updateId.toLowerCase()}:${id.revisionNumber}`;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The requested identities a GetUpdateData answer left out (a real WSUS may return 80 of 100). */
export function missingAfter(requested: readonly UpdateIdentity[], returned: Iterable<UpdateIdentity>): UpdateIdentity[] {
  const got = new Set<string>();
  for (const r of returned) got.add(identityKey(r));
  return requested.filter((r) => !got.has(identityKey(r)));
}

/** Identities with duplicates removed, first occurrence kept (an upstream list may repeat one). */
export function uniqueIdentities(ids: readonly UpdateIdentity[]): UpdateIdentity[] {
  const seen = new Set<string>();
  const out: UpdateIdentity[] = [];
  for (const id of ids) {
    const k = identityKey(id);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ updateId: id.updateId.toLowerCase(), revisionNumber: id.revisionNumber });
  }
  return out;
}
