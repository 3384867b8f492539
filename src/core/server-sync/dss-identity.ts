// Who may sync from us: the checks on what a downstream server claims to be (DssAuth
// accountName / accountGuid), the allow-list, and the protocol version it speaks. Pure.

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Host-name characters; `_` too, since Windows NetBIOS-derived names carry it in practice.
const FQDN_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const VERSION_RE = /^(\d{1,5})\.(\d{1,5})$/;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

export function isDssAccountName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && FQDN_RE.test(s);
}

/** `['*']` admits anyone (WSUS behaviour); otherwise the GUID or the FQDN must be listed. Lists are lower-case. */
export function isAllowedDownstream(allowList: readonly string[], serverId: string, fqdn: string): boolean {
  if (allowList.includes('*')) return true;
  return allowList.includes(serverId.toLowerCase()) || allowList.includes(fqdn.toLowerCase().replace(/\.$/, ''));
}

export type VersionCheck = { ok: true; major: number; minor: number } | { ok: false; reason: 'format' | 'major' };

/** MS-WSUSSS GetCookie protocolVersion: "x.y" (else InvalidParameters), major 1 (else IncompatibleProtocolVersion). */
export function checkProtocolVersion(v: string | undefined): VersionCheck {
  const m = v === undefined ? null : VERSION_RE.exec(v);
  if (!m) return { ok: false, reason: 'format' };
  const major = Number(m[1]);
  if (major !== 1) return { ok: false, reason: 'major' };
  return { ok: true, major, minor: Number(m[2]) };
}
