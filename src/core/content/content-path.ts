// Where a file lives on a WSUS content tree: `/Content/<last two hex of SHA-1>/<SHA-1><ext>`
// (upper-case hex, the extension of the metadata FileName), as real WSUS and this server serve it.

/** The extension of a metadata FileName, dot included ('' when it has none). */
export function fileExtension(fileName: string): string {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot) : '';
}

/** `/Content/<last two hex>/<SHA1HEX><ext>` */
export function contentPath(sha1Hex: string, fileName: string): string {
  const hex = sha1Hex.toUpperCase();
  return `/Content/${hex.slice(-2)}/${hex}${fileExtension(fileName)}`;
}
