// Where an upstream serves a file: one rule for the whole server, in core/sync/content-url.ts.
export { upstreamContentOrigin as contentOrigin, upstreamContentUrl } from '../core/sync/content-url.js';
import { upstreamContentUrl } from '../core/sync/content-url.js';

export function contentUrl(baseUrl: string, sha1Hex: string, fileName: string): string {
  if (!/^[0-9A-Fa-f]{40}$/.test(sha1Hex)) throw new RangeError(`not a SHA-1 hex digest: ${sha1Hex}`);
  return upstreamContentUrl(baseUrl, sha1Hex, fileName);
}
