// Text escaping as .NET's XmlWriter does it, which is what Windows clients have always parsed.
// Characters XML 1.0 forbids (C0 controls but tab, CR and LF; U+FFFE, U+FFFF) cannot be
// escaped at all: they leave as U+FFFD, so a stored value that carries one (an admin-typed
// group name, say) cannot make an answer ill-formed for every downstream that reads it.
// They share the one test with the markup characters, so clean text costs nothing more.

const TEXT_TEST = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const TEXT_ALL = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const ATTR_TEST = /[&<>"\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
const ATTR_ALL = /[&<>"\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
const MAP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const sub = (c: string): string => MAP[c] ?? '\uFFFD';

export function escapeText(s: string): string {
  return TEXT_TEST.test(s) ? s.replace(TEXT_ALL, sub) : s;
}

export function escapeAttr(s: string): string {
  return ATTR_TEST.test(s) ? s.replace(ATTR_ALL, sub) : s;
}
