// What a computer last said about its updates. After each scan the Windows Update Agent sends a
// status event (EventID 156) whose MiscData carries `;`-joined upper-case update ids per state:
// U installable (not installed), V installed, W installed pending reboot, g failed, h downloaded.
// Real WSUS derives Installed / Not installed from exactly these lists (REAL-CLIENTS.md).
//
// "Needed" here is WSUS's "computers needing this update": not installed, downloaded, failed or
// pending reboot — anything applicable that is not (fully) installed.

export interface StatusLists {
  needed: Set<string>;
  installed: Set<string>;
  pendingReboot: Set<string>;
  failed: Set<string>;
  downloaded: Set<string>;
}

const TAGS = { U: 'installable', V: 'installed', W: 'pendingReboot', g: 'failed', h: 'downloaded' } as const;

function ids(value: string): string[] {
  return value.split(';').map((s) => s.trim().toLowerCase()).filter((s) => s.length === 36);
}

/** Reads the lists from a status event's MiscData ("Key=Value" strings); null when it carries none. */
export function parseStatusLists(misc: readonly string[]): StatusLists | null {
  const lists: Record<(typeof TAGS)[keyof typeof TAGS], string[]> = { installable: [], installed: [], pendingReboot: [], failed: [], downloaded: [] };
  let any = false;
  for (const entry of misc) {
    const eq = entry.indexOf('=');
    if (eq !== 1) continue;
    const tag = entry[0] as keyof typeof TAGS;
    const name = TAGS[tag];
    if (!name) continue;
    any = true;
    lists[name].push(...ids(entry.slice(2)));
  }
  if (!any) return null;
  const installed = new Set(lists.installed);
  const needed = new Set<string>();
  for (const id of [...lists.installable, ...lists.downloaded, ...lists.failed, ...lists.pendingReboot]) {
    if (!installed.has(id)) needed.add(id);
  }
  return {
    needed,
    installed,
    pendingReboot: new Set(lists.pendingReboot),
    failed: new Set(lists.failed),
    downloaded: new Set(lists.downloaded),
  };
}
