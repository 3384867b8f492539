// Content-Type by file extension for update payloads. IIS's MIME map is the reference (the
// real capture shows `.exe` as application/octet-stream); Windows Update ignores the type, but
// proxies, browsers and admins' tools do not. Package formats follow Microsoft's documented
// IIS settings for hosting MSIX/AppX. Anything else is an opaque download.

const TYPES: Readonly<Record<string, string>> = {
  cab: 'application/vnd.ms-cab-compressed',
  exe: 'application/octet-stream',
  dll: 'application/octet-stream',
  msi: 'application/octet-stream',
  msp: 'application/octet-stream',
  msu: 'application/octet-stream',
  psf: 'application/octet-stream',
  wim: 'application/octet-stream',
  esd: 'application/octet-stream',
  bin: 'application/octet-stream',
  zip: 'application/x-zip-compressed',
  appx: 'application/appx',
  appxbundle: 'application/appxbundle',
  msix: 'application/msix',
  msixbundle: 'application/msixbundle',
  xml: 'text/xml',
  txt: 'text/plain',
};

export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

/** `name` is a file name or bare extension; case does not matter. */
export function mediaTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = (dot >= 0 ? name.slice(dot + 1) : name).toLowerCase();
  return Object.hasOwn(TYPES, ext) ? TYPES[ext]! : DEFAULT_MEDIA_TYPE;
}
