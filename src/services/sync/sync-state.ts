import type { SyncLanguage } from '../../core/server-sync/server-sync-model.js';
import type { SelectionSnapshot } from '../../core/sync/selection-filter.js';
import type { SyncStore } from '../../store/sync.store.js';

// Names and shapes of the sync_state keys, in one place. Anchors are opaque upstream strings;
// each is written only in the transaction that commits the phase it covers.

export type AnchorName = 'config' | 'categories' | 'updates' | 'deployments';
export const ANCHOR_NAMES: readonly AnchorName[] = ['config', 'categories', 'updates', 'deployments'];

export interface UpstreamConfigFacts {
  catalogOnlySync: boolean;
  lazySync: boolean;
  maxNumberOfUpdatesPerRequest: number;
  protocolVersion: string;
  receivedAt: string;
}

const K = {
  anchor: (n: AnchorName) => `anchor.${n}`,
  anchorAt: (n: AnchorName) => `anchor.${n}.at`,
  anchorsUpstream: 'anchors.upstream',
  cookie: 'cookie',
  upstreamConfig: 'upstream.config',
  languages: 'languages',
  syncedSelection: 'selection.synced',
  planned: (phase: string) => `merge.planned.${phase}`,
  unfinished: 'merge.unfinished',
  pendingContent: 'content.pending',
  nextScheduled: 'schedule.next',
} as const;

export function syncState(store: SyncStore) {
  return {
    anchor: (n: AnchorName): string | null => store.get(K.anchor(n)) ?? null,
    anchorSavedAt: (n: AnchorName): string | null => store.get(K.anchorAt(n)) ?? null,
    /** Call inside the transaction that commits the phase. */
    saveAnchor(n: AnchorName, value: string, now: Date): void {
      store.set(K.anchor(n), value);
      store.set(K.anchorAt(n), now.toISOString());
    },
    /** ServerChanged, or a different upstream: start over from nothing (the cookie goes too). */
    clearAnchors(): void {
      for (const n of ANCHOR_NAMES) {
        store.delete(K.anchor(n));
        store.delete(K.anchorAt(n));
      }
      store.delete(K.cookie);
      store.delete(K.syncedSelection);
    },
    /** Next sync lists every revision again (after an exclusion rule was removed). */
    clearUpdatesAnchor(): void {
      store.delete(K.anchor('updates'));
      store.delete(K.anchorAt('updates'));
    },
    anchorsUpstream: (): string | null => store.get(K.anchorsUpstream) ?? null,
    setAnchorsUpstream: (url: string) => store.set(K.anchorsUpstream, url),

    cookie: (): string | null => store.get(K.cookie) ?? null,
    setCookie: (encryptedData: string) => store.set(K.cookie, encryptedData),

    upstreamConfig: (): UpstreamConfigFacts | null => store.getJson<UpstreamConfigFacts>(K.upstreamConfig) ?? null,
    setUpstreamConfig: (c: UpstreamConfigFacts) => store.setJson(K.upstreamConfig, c),
    languages: (): SyncLanguage[] => store.getJson<SyncLanguage[]>(K.languages) ?? [],
    setLanguages: (l: SyncLanguage[]) => store.setJson(K.languages, l),

    syncedSelection: (): SelectionSnapshot | null => store.getJson<SelectionSnapshot>(K.syncedSelection) ?? null,
    setSyncedSelection: (s: SelectionSnapshot) => store.setJson(K.syncedSelection, s),

    isPlanned: (phase: string): boolean => store.get(K.planned(phase)) === '1',
    setPlanned: (phase: string, on: boolean) => (on ? store.set(K.planned(phase), '1') : store.delete(K.planned(phase))),
    /** revisions were merged but IsLeaf and the catalog generation were not refreshed yet */
    isUnfinished: (): boolean => store.get(K.unfinished) === '1',
    setUnfinished: (on: boolean) => (on ? store.set(K.unfinished, '1') : store.delete(K.unfinished)),

    pendingContent: (): string[] => store.getJson<string[]>(K.pendingContent) ?? [],
    setPendingContent: (hex: string[]) => (hex.length ? store.setJson(K.pendingContent, hex) : store.delete(K.pendingContent)),

    nextScheduled: (): string | null => store.get(K.nextScheduled) ?? null,
    setNextScheduled: (at: Date | null) => (at ? store.set(K.nextScheduled, at.toISOString()) : store.delete(K.nextScheduled)),
  };
}

export type SyncState = ReturnType<typeof syncState>;
