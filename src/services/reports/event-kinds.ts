// What a Windows Update Agent reporting event (namespace 1, source 101) means, in the words an
// administrator reads in a computer's history, and a one-line detail from its MiscData.

const KINDS: Record<number, string> = {
  147: 'Scan completed',
  148: 'Scan failed',
  156: 'Status reported',
  161: 'Download failed',
  162: 'Download succeeded',
  167: 'Download started',
  181: 'Installation started',
  182: 'Installation failed',
  183: 'Installation succeeded',
  184: 'Installed, restart required',
  186: 'Uninstallation succeeded',
  187: 'Uninstallation failed',
  201: 'Installation completed',
  202: 'Restart completed',
};

const LIST_TAGS: Record<string, string> = { U: 'installable', V: 'installed', W: 'pending reboot', g: 'failed', h: 'downloaded' };

export function eventKind(eventId: number, misc: readonly string[]): string {
  if (eventId === 201 && misc.includes('D=1')) return 'Installed, restart required';
  return KINDS[eventId] ?? `Event ${eventId}`;
}

/** "12 installable, 480 installed" for status lists (stored as counts, `U#=12`: misc-compaction.ts); otherwise the MiscData entries, shortened. */
export function eventDetail(misc: readonly string[]): string {
  const parts: string[] = [];
  for (const m of misc.slice(0, 32)) {
    const counted = /^([A-Za-z])#=(\d+)$/.exec(m);
    const tag = m.length >= 2 && m[1] === '=' ? LIST_TAGS[m[0]!] : undefined;
    if (counted && LIST_TAGS[counted[1]!]) {
      if (counted[2] !== '0') parts.push(`${counted[2]} ${LIST_TAGS[counted[1]!]}`);
    } else if (tag) {
      const ids = m.slice(2).split(';').filter((x) => x.trim() !== '').length;
      if (ids) parts.push(`${ids} ${tag}`);
    } else if (m.trim()) {
      parts.push(m.length > 80 ? `${m.slice(0, 79)}…` : m);
    }
  }
  const s = parts.join(', ');
  return s.length > 300 ? `${s.slice(0, 299)}…` : s;
}
