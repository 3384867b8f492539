// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  location: string;
  selfMs: number;
  share: number;
}

export function latestProfile(dir: string): string | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.length ? join(dir, files[files.length - 1]!) : null;
}

export function topSelfTime(file: string, root: string, limit = 20): { totalMs: number; idleMs: number; top: HotFunction[] } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const agg = new Map<string, HotFunction>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    totalUs += us;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idleUs += us;
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    const location = url ? `${url.startsWith('/') ? relative(root, url) : url}:${n.callFrame.lineNumber + 1}` : '';
    const key = `${name}@${location}`;
    const e = agg.get(key) ?? { name, location, selfMs: 0, share: 0 };
    e.selfMs += us / 1000;
    agg.set(key, e);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const top = [...agg.values()]
    .filter((e) => e.name !== '(idle)')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, limit)
    .map((e) => ({ ...e, share: busyMs > 0 ? e.selfMs / busyMs : 0 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, top };
}
