// Machine inventory carried by every reporting event: ExtendedData's ComputerBrand, ComputerModel,
// BiosRevision, ProcessorArchitecture, OSVersion and OSLocaleID, and the MiscData tags G (agent
// version), K (BIOS name) and L (BIOS date). Informational only: bounded, never trusted.

/** ExtendedData's machine fields as read from the wire. */
export interface ReportedMachine {
  brand?: string;
  model?: string;
  biosRevision?: string;
  processorArchitecture?: string;
  osMajor?: number;
  osMinor?: number;
  osBuild?: number;
  osLocaleId?: number;
}

/** The computers columns a report may set (names as in ComputerInfo). */
export interface InventoryPatch {
  manufacturer?: string;
  model?: string;
  biosVersion?: string;
  biosName?: string;
  biosReleaseDate?: string;
  processorArchitecture?: string;
  osMajor?: number;
  osMinor?: number;
  osBuild?: number;
  osLocale?: string;
  clientVersion?: string;
}

const MAX = 256;
const ARCHITECTURES: Record<string, string> = {
  Amd64Compatible: 'AMD64', X86Compatible: 'X86', IA64Compatible: 'IA64', Arm64Compatible: 'ARM64', ArmCompatible: 'ARM',
};

// Windows LCIDs of the display languages WSUS lists, as RegisterComputer's OSLocale spells them.
const LOCALES: Record<number, string> = {
  1025: 'ar-SA', 1026: 'bg-BG', 1028: 'zh-TW', 1029: 'cs-CZ', 1030: 'da-DK', 1031: 'de-DE', 1032: 'el-GR', 1033: 'en-US',
  1035: 'fi-FI', 1036: 'fr-FR', 1037: 'he-IL', 1038: 'hu-HU', 1040: 'it-IT', 1041: 'ja-JP', 1042: 'ko-KR', 1043: 'nl-NL',
  1044: 'nb-NO', 1045: 'pl-PL', 1046: 'pt-BR', 1048: 'ro-RO', 1049: 'ru-RU', 1050: 'hr-HR', 1051: 'sk-SK', 1053: 'sv-SE',
  1054: 'th-TH', 1055: 'tr-TR', 1057: 'id-ID', 1058: 'uk-UA', 1060: 'sl-SI', 1061: 'et-EE', 1062: 'lv-LV', 1063: 'lt-LT',
  1066: 'vi-VN', 1081: 'hi-IN', 1086: 'ms-MY', 2052: 'zh-CN', 2057: 'en-GB', 2058: 'es-MX', 2070: 'pt-PT', 2074: 'sr-Latn-RS',
  3076: 'zh-HK', 3081: 'en-AU', 3082: 'es-ES', 3084: 'fr-CA', 4105: 'en-CA',
};

export function architectureName(wire: string): string {
  return ARCHITECTURES[wire] ?? wire.slice(0, MAX);
}

/** The locale name of a Windows LCID; the number itself when it is not a known display language. */
export function localeName(lcid: number): string {
  return LOCALES[lcid] ?? String(lcid);
}

function tag(misc: readonly string[], t: string): string | undefined {
  for (const m of misc) if (m.length > 2 && m[0] === t && m[1] === '=') return m.slice(2, 2 + MAX);
  return undefined;
}

const text = (v: string | undefined): string | undefined => {
  const t = v?.trim();
  return t ? t.slice(0, MAX) : undefined;
};

/** What one event says about its machine; null when it says nothing. */
export function inventoryFromEvent(machine: ReportedMachine | null, misc: readonly string[]): InventoryPatch | null {
  const p: InventoryPatch = {};
  if (machine) {
    const set = <K extends keyof InventoryPatch>(k: K, v: InventoryPatch[K] | undefined): void => { if (v !== undefined) p[k] = v; };
    set('manufacturer', text(machine.brand));
    set('model', text(machine.model));
    set('biosVersion', text(machine.biosRevision));
    const arch = text(machine.processorArchitecture);
    set('processorArchitecture', arch === undefined ? undefined : architectureName(arch));
    set('osMajor', machine.osMajor);
    set('osMinor', machine.osMinor);
    set('osBuild', machine.osBuild);
    if (machine.osLocaleId !== undefined && machine.osLocaleId > 0) p.osLocale = localeName(machine.osLocaleId);
  }
  const version = tag(misc, 'G');
  if (version && /^\d{1,6}(\.\d{1,6}){1,3}$/.test(version)) p.clientVersion = version;
  const biosName = text(tag(misc, 'K'));
  if (biosName) p.biosName = biosName;
  const biosDate = text(tag(misc, 'L'));
  if (biosDate) p.biosReleaseDate = biosDate;
  return Object.keys(p).length ? p : null;
}
