import { escapeAttr } from '../../protocol/xml/escape.js';
import { attr, type XmlElement } from '../../protocol/xml/xml-element.js';
import { memberNameProblem } from './tar-format.js';

// The manifest of a transfer package (export from one server, import into a disconnected one):
// what the package holds (every member with its size and SHA-256, one per line of <Members>:
// a handful of elements however many members, which keeps XML-DSig processing linear), where
// it comes from, and what it covers. It is the signed part of the package: the members are trusted only through
// the digests listed here. Pure: build the XML, read it back, compare it with a tar's index.

export const MANIFEST_NS = 'urn:wsus-ts:transfer-package:1';
export const MANIFEST_NAME = 'manifest.xml';
export const TARGETING_NAME = 'targeting.json';
export const FORMAT_VERSION = 1;

/** full: every current revision; delta: only revisions changed since an anchor or date */
export type PackageKind = 'full' | 'delta';
export type ContentScope = 'none' | 'approved' | 'all';
export type MemberRole = 'update' | 'targeting' | 'content';

export interface ManifestMember {
  name: string;
  size: number;
  /** lower-case hex */
  sha256: string;
}

export interface TransferManifest {
  packageId: string;
  kind: PackageKind;
  sourceServerId: string;
  createdAt: string;
  /** the source's change sequence when the package was made: `--since` this for the next delta */
  anchor: number;
  /** what a delta was taken since (one of them) */
  sinceAnchor: number | null;
  sinceDate: string | null;
  approvals: boolean;
  content: ContentScope;
  counts: { updates: number; groups: number; approvals: number; declined: number; contentFiles: number; contentBytes: number };
  members: ManifestMember[];
}

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UPDATE_MEMBER = new RegExp(`^updates/(${GUID})\\.(\\d{1,9})\\.xml$`);
const CONTENT_MEMBER = /^content\/([0-9A-F]{40})$/;
/** one member per line, like sha256sum with the size between: `<sha256 hex> <size> <name>` */
const MEMBER_LINE = /^([0-9a-f]{64}) (\d{1,15}) ([^\s]+)$/;
const GUID_RE = new RegExp(`^${GUID}$`);
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export const updateMemberName = (updateId: string, revisionNumber: number): string => `updates/${updateId.toLowerCase()}.${revisionNumber}.xml`;
export const contentMemberName = (sha1Hex: string): string => `content/${sha1Hex.toUpperCase()}`;

/** What a member is, from its name; null for a name no package of this format holds. */
export function memberRole(name: string): { role: MemberRole; updateId?: string; revisionNumber?: number; sha1Hex?: string } | null {
  if (name === TARGETING_NAME) return { role: 'targeting' };
  const u = UPDATE_MEMBER.exec(name);
  if (u) return { role: 'update', updateId: u[1]!, revisionNumber: Number(u[2]) };
  const c = CONTENT_MEMBER.exec(name);
  if (c) return { role: 'content', sha1Hex: c[1]! };
  return null;
}

export function manifestXml(m: TransferManifest): string {
  const a = (k: string, v: string | number | boolean | null): string => (v === null ? '' : ` ${k}="${escapeAttr(String(v))}"`);
  const c = m.counts;
  return '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<TransferPackage xmlns="${MANIFEST_NS}"${a('FormatVersion', FORMAT_VERSION)}${a('PackageId', m.packageId)}${a('Kind', m.kind)}` +
    `${a('SourceServerId', m.sourceServerId)}${a('CreatedAt', m.createdAt)}${a('Anchor', m.anchor)}` +
    `${a('SinceAnchor', m.sinceAnchor)}${a('SinceDate', m.sinceDate)}${a('Approvals', m.approvals)}${a('Content', m.content)}>\n` +
    `<Counts${a('Updates', c.updates)}${a('Groups', c.groups)}${a('Approvals', c.approvals)}${a('Declined', c.declined)}` +
    `${a('ContentFiles', c.contentFiles)}${a('ContentBytes', c.contentBytes)}/>\n<Members${a('Count', m.members.length)}>\n` +
    m.members.map((x) => `${x.sha256} ${x.size} ${x.name}\n`).join('') +
    '</Members>\n</TransferPackage>\n';
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

function onlyAttrs(el: XmlElement, allowed: readonly string[]): void {
  for (const [k] of el.attrs) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    if (!allowed.includes(k)) throw new ManifestError(`manifest: unexpected attribute ${k} on ${el.local}`);
  }
}

function req(el: XmlElement, name: string): string {
  const v = attr(el, name);
  if (v === undefined) throw new ManifestError(`manifest: ${el.local} lacks ${name}`);
  return v;
}

function count(el: XmlElement, name: string): number {
  const v = req(el, name);
  if (!/^\d{1,15}$/.test(v)) throw new ManifestError(`manifest: ${el.local} ${name} is not a count`);
  return Number(v);
}

/**
 * Reads a manifest element (from the signed, canonical bytes) into the model, checking every
 * field: a signed manifest from a trusted server is still parsed as untrusted input.
 */
export function parseManifest(root: XmlElement): TransferManifest {
  if (root.local !== 'TransferPackage' || root.ns !== MANIFEST_NS) throw new ManifestError('manifest: the root element is not a TransferPackage');
  onlyAttrs(root, ['FormatVersion', 'PackageId', 'Kind', 'SourceServerId', 'CreatedAt', 'Anchor', 'SinceAnchor', 'SinceDate', 'Approvals', 'Content']);
  if (req(root, 'FormatVersion') !== String(FORMAT_VERSION)) throw new ManifestError(`manifest: format version ${req(root, 'FormatVersion')} is not supported (this server reads ${FORMAT_VERSION})`);
  const packageId = req(root, 'PackageId');
  const sourceServerId = req(root, 'SourceServerId');
  if (!GUID_RE.test(packageId) || !GUID_RE.test(sourceServerId)) throw new ManifestError('manifest: PackageId and SourceServerId must be lower-case GUIDs');
  const kind = req(root, 'Kind');
  if (kind !== 'full' && kind !== 'delta') throw new ManifestError('manifest: Kind must be full or delta');
  const createdAt = req(root, 'CreatedAt');
  if (!ISO_RE.test(createdAt)) throw new ManifestError('manifest: CreatedAt is not an ISO time');
  const anchor = count(root, 'Anchor');
  const sinceAnchor = attr(root, 'SinceAnchor') === undefined ? null : count(root, 'SinceAnchor');
  const sinceDate = attr(root, 'SinceDate') ?? null;
  if (sinceDate !== null && !ISO_RE.test(sinceDate)) throw new ManifestError('manifest: SinceDate is not an ISO time');
  if ((kind === 'delta') !== (sinceAnchor !== null || sinceDate !== null)) throw new ManifestError('manifest: a delta names what it was taken since, a full package does not');
  const approvals = req(root, 'Approvals');
  if (approvals !== 'true' && approvals !== 'false') throw new ManifestError('manifest: Approvals must be true or false');
  const content = req(root, 'Content');
  if (content !== 'none' && content !== 'approved' && content !== 'all') throw new ManifestError('manifest: Content must be none, approved or all');

  const kids = root.children;
  if (kids.length !== 2 || kids[0]!.local !== 'Counts' || kids[1]!.local !== 'Members' || kids.some((k) => k.ns !== MANIFEST_NS)) {
    throw new ManifestError('manifest: expected exactly Counts and Members');
  }
  const c = kids[0]!;
  onlyAttrs(c, ['Updates', 'Groups', 'Approvals', 'Declined', 'ContentFiles', 'ContentBytes']);
  const counts = {
    updates: count(c, 'Updates'), groups: count(c, 'Groups'), approvals: count(c, 'Approvals'),
    declined: count(c, 'Declined'), contentFiles: count(c, 'ContentFiles'), contentBytes: count(c, 'ContentBytes'),
  };
  const list = kids[1]!;
  onlyAttrs(list, ['Count']);
  if (list.children.length) throw new ManifestError('manifest: Members holds lines, not elements');
  const members: ManifestMember[] = [];
  const seen = new Set<string>();
  for (const line of list.text.split('\n')) {
    if (line === '') continue;
    const lm = MEMBER_LINE.exec(line);
    if (!lm) throw new ManifestError(`manifest: a Members line is not "<sha256> <size> <name>": ${JSON.stringify(line.slice(0, 120))}`);
    const [, sha256, size, name] = lm as unknown as [string, string, string, string];
    const problem = memberNameProblem(name);
    if (problem) throw new ManifestError(`manifest: ${problem}`);
    if (!memberRole(name)) throw new ManifestError(`manifest: member ${JSON.stringify(name)} is not a member this package format holds`);
    if (seen.has(name.toLowerCase())) throw new ManifestError(`manifest: member ${JSON.stringify(name)} is listed twice`);
    seen.add(name.toLowerCase());
    members.push({ name, size: Number(size), sha256 });
  }
  if (members.length !== count(list, 'Count')) throw new ManifestError('manifest: Members Count disagrees with its lines');
  const by = (r: MemberRole) => members.filter((m) => memberRole(m.name)!.role === r);
  if (by('update').length !== counts.updates) throw new ManifestError('manifest: Counts Updates disagrees with the members');
  if (by('content').length !== counts.contentFiles) throw new ManifestError('manifest: Counts ContentFiles disagrees with the members');
  if ((by('targeting').length === 1) !== (approvals === 'true')) throw new ManifestError('manifest: targeting.json is present exactly when Approvals is true');
  if (content === 'none' && counts.contentFiles) throw new ManifestError('manifest: content files in a package without content');
  return {
    packageId, kind, sourceServerId, createdAt, anchor, sinceAnchor, sinceDate,
    approvals: approvals === 'true', content, counts, members,
  };
}

/** The tar's members as the index saw them. */
export interface IndexedMember {
  name: string;
  size: number;
}

/**
 * Problems between the signed member list and the tar's actual members: missing, extra
 * (anything but the manifest itself), or of another size. Digests are checked by the caller.
 */
export function compareMembers(manifest: TransferManifest, tar: readonly IndexedMember[]): string[] {
  const problems: string[] = [];
  const actual = new Map(tar.filter((t) => t.name !== MANIFEST_NAME).map((t) => [t.name, t]));
  for (const m of manifest.members) {
    const t = actual.get(m.name);
    if (!t) problems.push(`member ${m.name} is listed in the manifest but missing from the package`);
    else if (t.size !== m.size) problems.push(`member ${m.name} is ${t.size} bytes, the manifest says ${m.size}`);
    actual.delete(m.name);
  }
  for (const name of actual.keys()) problems.push(`member ${name} is in the package but not in the signed manifest`);
  return problems;
}
