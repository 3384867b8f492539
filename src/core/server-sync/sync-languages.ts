import type { SyncLanguage } from './server-sync-model.js';

// The languages a WSUS upstream announces in GetConfigData (LCID, short and long name), in the
// order and spelling a real WSUS on Windows Server 2025 sends them.

export const SYNC_LANGUAGES: ReadonlyArray<{ id: number; short: string; long: string }> = [
  { id: 1025, short: 'ar', long: 'Arabic' },
  { id: 1026, short: 'bg', long: 'Bulgarian' },
  { id: 1028, short: 'zh-tw', long: 'Chinese (Traditional)' },
  { id: 1029, short: 'cs', long: 'Czech' },
  { id: 1030, short: 'da', long: 'Danish' },
  { id: 1031, short: 'de', long: 'German' },
  { id: 1032, short: 'el', long: 'Greek' },
  { id: 1033, short: 'en', long: 'English' },
  { id: 1034, short: 'es', long: 'Spanish' },
  { id: 1035, short: 'fi', long: 'Finnish' },
  { id: 1036, short: 'fr', long: 'French' },
  { id: 1037, short: 'he', long: 'Hebrew' },
  { id: 1038, short: 'hu', long: 'Hungarian' },
  { id: 1040, short: 'it', long: 'Italian' },
  { id: 1041, short: 'ja', long: 'Japanese' },
  { id: 1042, short: 'ko', long: 'Korean' },
  { id: 1043, short: 'nl', long: 'Dutch' },
  { id: 1044, short: 'no', long: 'Norwegian' },
  { id: 1045, short: 'pl', long: 'Polish' },
  { id: 1046, short: 'pt-br', long: 'Portuguese (Brazil)' },
  { id: 1048, short: 'ro', long: 'Romanian' },
  { id: 1049, short: 'ru', long: 'Russian' },
  { id: 1050, short: 'hr', long: 'Croatian' },
  { id: 1051, short: 'sk', long: 'Slovak' },
  { id: 1053, short: 'sv', long: 'Swedish' },
  { id: 1054, short: 'th', long: 'Thai' },
  { id: 1055, short: 'tr', long: 'Turkish' },
  { id: 1058, short: 'uk', long: 'Ukrainian' },
  { id: 1060, short: 'sl', long: 'Slovenian' },
  { id: 1061, short: 'et', long: 'Estonian' },
  { id: 1062, short: 'lv', long: 'Latvian' },
  { id: 1063, short: 'lt', long: 'Lithuanian' },
  { id: 1081, short: 'hi', long: 'Hindi' },
  { id: 2052, short: 'zh-cn', long: 'Chinese (Simplified)' },
  { id: 2070, short: 'pt', long: 'Portuguese (Portugal)' },
  { id: 2074, short: 'sr', long: 'Serbian (Latin)' },
  { id: 3076, short: 'zh-hk', long: 'Chinese (Hong Kong SAR)' },
  { id: 66577, short: 'ja-nec', long: 'Japanese NEC' },
];

/**
 * The LanguageUpdateList: `{0,'all','all'}` first (enabled only when every language is), then
 * the whole table with Enabled = whether this server holds the language. `enabled` holds
 * lower-case short names; names outside the table are ignored.
 */
export function languageUpdateList(enabled: ReadonlySet<string>): SyncLanguage[] {
  const rows = SYNC_LANGUAGES.map((l) => ({ id: l.id, short: l.short, long: l.long, enabled: enabled.has(l.short) }));
  return [{ id: 0, short: 'all', long: 'all', enabled: rows.every((r) => r.enabled) }, ...rows];
}

/** Canonical, comparable form of an enabled set (detects a change between two GetConfigData calls). */
export function languageFingerprint(enabled: ReadonlySet<string>): string {
  return SYNC_LANGUAGES.filter((l) => enabled.has(l.short)).map((l) => l.short).join(',');
}
