// How an event's MiscData is stored: the per-machine tags (agent and BIOS versions, inventory,
// policy switches) repeat in every event and are kept once on the computer instead, and the
// status lists (U=, V=, W=, g=, h=) live on as computer_status cells, so the stored event keeps
// only their sizes ("U#=12"). What stays is what explains one event: A B C D F Q S X Y Z a c f.

const KEEP = new Set(['A', 'B', 'C', 'D', 'F', 'Q', 'S', 'X', 'Y', 'Z', 'a', 'c', 'f']);
const LISTS = new Set(['U', 'V', 'W', 'g', 'h']);
const MAX_CHARS = 1024;

export function compactMisc(misc: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of misc) {
    if (m.length < 2 || m[1] !== '=') continue;
    const t = m[0]!;
    if (LISTS.has(t)) {
      let n = 0;
      for (const id of m.slice(2).split(';')) if (id.trim()) n++;
      out.push(`${t}#=${n}`);
    } else if (KEEP.has(t)) {
      out.push(m.slice(0, MAX_CHARS));
    }
  }
  return out;
}

/** A stored (compacted) event no longer carries its status lists. */
export function isCompacted(misc: readonly string[]): boolean {
  return misc.some((m) => m.length > 2 && m[1] === '#' && m[2] === '=' && LISTS.has(m[0]!));
}
