import { extname } from 'node:path';

// Where an upstream serves a file ([MS-WSUSSS] 2.1 and 3.2.4.4, PROTOCOL.md 4.3): the content
// origin is the metadata origin, except that HTTPS web services on port N put content on plain
// HTTP port N-1 (443 -> 80); the folder is the last two hex digits of the SHA-1, upper case,
// and the file is the full upper-case hex digest plus the extension of the metadata FileName.

export function contentOrigin(baseUrl: string): string {
  const u = new URL(baseUrl);
  if (u.protocol !== 'https:') return u.origin;
  const port = u.port === '' || u.port === '443' ? '' : `:${Number(u.port) - 1}`;
  return `http://${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}${port}`;
}

export function contentUrl(baseUrl: string, sha1Hex: string, fileName: string): string {
  const hex = sha1Hex.toUpperCase();
  if (!/^[0-9A-F]{40}$/.test(hex)) throw new RangeError(`not a SHA-1 hex digest: ${sha1Hex}`);
  return `${contentOrigin(baseUrl)}/Content/${hex.slice(-2)}/${hex}${extname(fileName)}`;
}
