// Text escaping as .NET's XmlWriter does it, which is what Windows clients have always parsed.

const TEXT_TEST = /[&<>]/;
const TEXT_ALL = /[&<>]/g;
const ATTR_TEST = /[&<>"]/;
const ATTR_ALL = /[&<>"]/g;
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const sub = (c: string): string => MAP[c]!;

export function escapeText(s: string): string {
  return TEXT_TEST.test(s) ? s.replace(TEXT_ALL, sub) : s;
}

export function escapeAttr(s: string): string {
  return ATTR_TEST.test(s) ? s.replace(ATTR_ALL, sub) : s;
}
