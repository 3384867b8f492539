import { invalidParameters } from '../core/errors.js';
import { contentPath } from '../core/content/content-path.js';
import type { ServerConfig } from '../config/config.js';
import type { CatalogStore, FileRow } from '../store/catalog.store.js';
import { deliveredEntry, type SnapshotEntry } from '../core/scan/catalog-snapshot.js';
import type { CatalogViewHolder } from './catalog-view.js';

export const FRAGMENT_TYPES = [
  'Published', 'Core', 'Extended', 'VerificationRule', 'LocalizedProperties', 'Eula', 'FileUrl', 'FileDecryption',
] as const;
export type FragmentType = (typeof FRAGMENT_TYPES)[number];

export interface FileLocation {
  digest: string;
  url: string;
}

export interface ExtendedInfoResult {
  updates: Array<{ revisionId: number; xmlEscaped: string }>;
  fileLocations: FileLocation[];
  outOfScope: number[];
}

/** `/Content/<last two hex of SHA-1>/<SHA-1>.<ext>` on the host the client used, as real WSUS announces it. */
export function contentUrl(host: string, port: number, file: Pick<FileRow, 'sha1Hex' | 'fileName'>): string {
  const portPart = port === 80 ? '' : `:${port}`;
  return `http://${host}${portPart}${contentPath(file.sha1Hex, file.fileName)}`;
}

export function createUpdateInfoService(deps: { config: ServerConfig; views: CatalogViewHolder; catalog: CatalogStore; contentPort: () => number }) {
  const { config, views, catalog } = deps;

  function pickLocale(available: Map<string, string>, locales: readonly string[]): string | undefined {
    for (const l of locales) {
      const v = available.get(l.toLowerCase());
      if (v !== undefined) return v;
    }
    // The client always lists its language and `en`; fall back to English, then anything.
    return available.get('en') ?? available.values().next().value;
  }

  // WSUS's two modes: files from this server's /Content (announced even before they arrive;
  // a request for a missing one triggers its download), or straight from Microsoft Update
  // when the admin chose that and the metadata carries the URL.
  function urlOf(file: FileRow, host: string): string {
    return config.downloadFromMicrosoft && file.muUrl ? file.muUrl : contentUrl(host, deps.contentPort(), file);
  }

  function locationsOf(entries: readonly SnapshotEntry[], host: string): FileLocation[] {
    const seen = new Set<string>();
    const out: FileLocation[] = [];
    for (const e of entries) {
      for (const f of catalog.files(e.revisionId)) {
        if (seen.has(f.sha1Hex)) continue;
        seen.add(f.sha1Hex);
        out.push({ digest: f.sha1, url: urlOf(f, host) });
      }
    }
    return out;
  }

  function fragments(entries: readonly SnapshotEntry[], types: readonly FragmentType[], locales: readonly string[]) {
    const updates: Array<{ revisionId: number; xmlEscaped: string }> = [];
    for (const t of types) {
      for (const e of entries) {
        let xml: string | undefined;
        if (t === 'Core') xml = catalog.coreEscaped(e.revisionId);
        else if (t === 'Extended') xml = catalog.extendedEscaped(e.revisionId);
        else if (t === 'LocalizedProperties') xml = pickLocale(catalog.localizedEscaped(e.revisionId), locales);
        else if (t === 'Eula') xml = pickLocale(catalog.eulaEscaped(e.revisionId), locales);
        if (xml !== undefined) updates.push({ revisionId: e.revisionId, xmlEscaped: xml });
      }
    }
    return updates;
  }

  function validateTypes(types: readonly string[], locales: readonly string[] | undefined): FragmentType[] {
    if (types.length === 0) throw invalidParameters('infoTypes');
    for (const t of types) if (!(FRAGMENT_TYPES as readonly string[]).includes(t)) throw invalidParameters('infoTypes');
    if ((types.includes('LocalizedProperties') || types.includes('Eula')) && (!locales || locales.length === 0)) {
      throw invalidParameters('locales');
    }
    return [...new Set(types)] as FragmentType[];
  }

  return {
    getExtendedUpdateInfo(revisionIds: readonly number[], infoTypes: readonly string[], locales: readonly string[] | undefined, host: string): ExtendedInfoResult {
      if (revisionIds.length === 0 || revisionIds.length > config.maxExtendedUpdatesPerRequest) throw invalidParameters('revisionIDs');
      const types = validateTypes(infoTypes, locales);
      const snap = views.current().snapshot;
      const inScope: SnapshotEntry[] = [];
      const outOfScope: number[] = [];
      for (const id of new Set(revisionIds)) {
        const e = deliveredEntry(snap, id);
        if (e) inScope.push(e);
        else outOfScope.push(id);
      }
      const wantsFiles = types.includes('Extended') || types.includes('FileUrl');
      return {
        updates: fragments(inScope, types, locales ?? []),
        fileLocations: wantsFiles ? locationsOf(inScope, host) : [],
        outOfScope,
      };
    },

    getExtendedUpdateInfo2(identities: ReadonlyArray<{ updateId: string; revisionNumber: number }>, infoTypes: readonly string[], locales: readonly string[] | undefined, host: string): ExtendedInfoResult {
      if (identities.length === 0 || identities.length > config.maxExtendedUpdatesPerRequest) throw invalidParameters('updateIDs');
      const types = validateTypes(infoTypes, locales);
      const snap = views.current().snapshot;
      const inScope: SnapshotEntry[] = [];
      for (const id of identities) {
        const ei = snap.byUpdateId.get(id.updateId.toLowerCase());
        const e = ei === undefined ? undefined : snap.entries[ei];
        if (e && e.delivered && e.revisionNumber === id.revisionNumber) inScope.push(e);
      }
      const wantsFiles = types.includes('Extended') || types.includes('FileUrl');
      return { updates: fragments(inScope, types, locales ?? []), fileLocations: wantsFiles ? locationsOf(inScope, host) : [], outOfScope: [] };
    },

    getFileLocations(digests: readonly Buffer[], host: string): FileLocation[] {
      if (digests.length === 0 || digests.length > config.limits.maxArrayItems) throw invalidParameters('fileDigests');
      const out: FileLocation[] = [];
      for (const d of digests) {
        if (d.length !== 20) throw invalidParameters('fileDigests');
        const file = catalog.filesByDigest(d.toString('hex').toUpperCase())[0];
        if (file) out.push({ digest: file.sha1, url: urlOf(file, host) });
      }
      return out;
    },
  };
}

export type UpdateInfoService = ReturnType<typeof createUpdateInfoService>;
