import type { Readable } from 'node:stream';
import type { ContentStore, IngestResult } from '../content-store.service.js';
import type { SignedCab } from './publish-cab.js';

// The signed CAB enters the content store through the same gate as every other file: digests
// and size checked against what we computed, and the signature policy for source 'published'
// applied (enforce by default: our own signature must verify against the trust store, which
// holds the publishing certificate).

export async function ingestPublishedCab(store: ContentStore, bytes: Readable, cab: SignedCab, signal?: AbortSignal): Promise<IngestResult> {
  return store.ingestStream(bytes, { sha1Hex: cab.sha1Hex, size: cab.size, sha256: cab.sha256Base64 }, { source: 'published', ...(signal ? { signal } : {}) });
}
