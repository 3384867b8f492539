// How an administrator names an update on the command line: its GUID, its KB article
// (`KB5034441` or `5034441`), or its exact title. Pure: classification only; resolution
// against the catalog lives in the service.

export type UpdateRef =
  | { kind: 'id'; raw: string; updateId: string }
  | { kind: 'kb'; raw: string; kb: string }
  | { kind: 'title'; raw: string; title: string };

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB_RE = /^(?:KB)?(\d{4,9})$/i;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

export function classifyUpdateRef(raw: string): UpdateRef {
  const s = raw.trim();
  if (GUID_RE.test(s)) return { kind: 'id', raw, updateId: s.toLowerCase() };
  const kb = KB_RE.exec(s);
  if (kb) return { kind: 'kb', raw, kb: String(Number(kb[1])) };
  return { kind: 'title', raw, title: s };
}

/** `5034441` from `KB5034441`, `kb5034441` or `5034441`; null for anything else. */
export function kbNumber(text: string): string | null {
  const m = KB_RE.exec(text.trim());
  return m ? String(Number(m[1])) : null;
}
