// Where an upstream WSUS serves content, computed from its metadata URL alone, so the lazy
// download hook can name a URL without opening a session. MS-WSUSSS 2.1: web services on
// HTTPS port N≠443 → content on HTTP N−1; HTTPS on 443 → HTTP 80; plain HTTP → same origin.

import { contentPath } from '../content/content-path.js';

export { fileExtension } from '../content/content-path.js';

/** `http://host:port` of the upstream's /Content tree. */
export function upstreamContentOrigin(upstreamBaseUrl: string): string {
  const u = new URL(upstreamBaseUrl);
  if (u.protocol === 'http:') return u.origin;
  if (u.protocol !== 'https:') throw new RangeError(`upstream URL must be http or https, got ${upstreamBaseUrl}`);
  const port = u.port === '' ? 443 : Number(u.port);
  const contentPort = port === 443 ? 80 : port - 1;
  // URL normalizes the default port away, so http://host:80 becomes http://host.
  // (hostname keeps the brackets of an IPv6 literal)
  const out = new URL(`http://${u.hostname}`);
  out.port = String(contentPort);
  return out.origin;
}

/** `<origin>/Content/<last two hex>/<SHA1HEX><ext>`: the layout WSUS (and this server) serves. */
export function upstreamContentUrl(upstreamBaseUrl: string, sha1Hex: string, fileName: string): string {
  return `${upstreamContentOrigin(upstreamBaseUrl)}${contentPath(sha1Hex, fileName)}`;
}
