import { invalidParameters } from '../errors.js';
import { inventoryFromEvent, type ReportedMachine, type InventoryPatch } from './event-inventory.js';

// A ReportEventBatch event from the wire to what the report inbox keeps. The SOAP adapter reads
// the fields (integers already checked); this checks the rest, bounds every size and decides the
// event time. A structurally broken event rejects the whole batch (InvalidParameters, nothing
// stored) so a client with a bug learns it at once; an impossible clock is not the event's
// fault, so that event is kept with the receipt time instead.

/** A checked event as the inbox keeps it (MiscData bounded but complete: the status lists are still in it). */
export interface InboxEvent {
  eventInstanceId: string;
  eventId: number;
  namespaceId: number;
  sourceId: number;
  updateId: string;
  revisionNumber: number;
  /** normalized ISO time (client time, or the receipt time when the client's was impossible) */
  timeAtTarget: string;
  win32HResult: number;
  appName: string;
  replacementStrings: string[];
  miscData: string[];
}

/** An event as the SOAP adapter read it: not yet trusted (timeAtTarget as sent). */
export interface IncomingEvent extends InboxEvent {
  targetSid: string;
  /** ExtendedData's machine fields (ComputerBrand, OSVersion, ...); null when absent */
  machine: ReportedMachine | null;
}

export interface CheckedBatch {
  events: InboxEvent[];
  /** the newest machine inventory the batch carries */
  inventory: InventoryPatch | null;
  /** events about another client than the cookie's (ignored) */
  foreign: number;
  /** events whose time was in the far future or before 2000 (stored with the receipt time) */
  impossibleTimes: number;
}

export const MAX_MISC_ENTRIES = 256;
export const MAX_MISC_CHARS = 1024;
/** a status list may name this many update ids (a real machine lists hundreds of installed updates) */
export const MAX_LIST_IDS = 20_000;
const MAX_LIST_CHARS = 2 + MAX_LIST_IDS * 37;
export const MAX_REPLACEMENT_STRINGS = 16;
export const MAX_REPLACEMENT_CHARS = 1024;
const MAX_APP_NAME = 256;
const FUTURE_SLACK_MS = 86_400_000;
const EARLIEST = Date.UTC(2000, 0, 1);

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?$/;
const LIST_TAGS = new Set(['U', 'V', 'W', 'g', 'h']);

/** xs:dateTime as clients send it (.NET writes up to 7 fraction digits; no zone means UTC); null when unparsable. */
export function parseClientTime(s: string): number | null {
  const m = TIME_RE.exec(s.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, se] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return null;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
  const frac = (m[7] ?? '').padEnd(3, '0').slice(0, 3);
  const t = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${frac}${m[8] ?? 'Z'}`);
  return Number.isNaN(t) ? null : t;
}

export function isStatusListEntry(entry: string): boolean {
  return entry.length >= 2 && entry[1] === '=' && LIST_TAGS.has(entry[0]!);
}

/**
 * At most 256 entries, each cut to 1 KiB, except the status lists (U=, V=, W=, g=, h=), which
 * keep up to 20,000 ids: cutting them would turn installed updates into "not applicable".
 */
export function boundMisc(misc: readonly string[]): string[] {
  const keep = new Array<boolean>(misc.length).fill(false);
  let n = 0;
  for (let i = 0; i < misc.length && n < MAX_MISC_ENTRIES; i++) if (isStatusListEntry(misc[i]!)) { keep[i] = true; n++; }
  for (let i = 0; i < misc.length && n < MAX_MISC_ENTRIES; i++) if (!keep[i]) { keep[i] = true; n++; }
  const out: string[] = [];
  for (let i = 0; i < misc.length; i++) {
    if (!keep[i]) continue;
    const m = misc[i]!;
    out.push(m.slice(0, isStatusListEntry(m) ? MAX_LIST_CHARS : MAX_MISC_CHARS));
  }
  return out;
}

/** Checks and bounds a batch for `clientId`, received at `receivedAt`. Throws InvalidParameters (eventBatch). */
export function checkBatch(batch: readonly IncomingEvent[], clientId: string, receivedAt: Date): CheckedBatch {
  const out: CheckedBatch = { events: [], inventory: null, foreign: 0, impossibleTimes: 0 };
  const received = receivedAt.getTime();
  for (const e of batch) {
    const instance = e.eventInstanceId.trim();
    const update = e.updateId.trim();
    if (!GUID_RE.test(instance) || !GUID_RE.test(update)) throw invalidParameters('eventBatch', 'not a GUID');
    let at = parseClientTime(e.timeAtTarget);
    if (at === null) throw invalidParameters('eventBatch', 'TimeAtTarget');
    // A client reports for itself only: the cookie, not the body, says who is reporting.
    if (e.targetSid.trim().toLowerCase() !== clientId) {
      out.foreign++;
      continue;
    }
    if (at > received + FUTURE_SLACK_MS || at < EARLIEST) {
      out.impossibleTimes++;
      at = received;
    }
    const misc = boundMisc(e.miscData);
    out.events.push({
      eventInstanceId: instance.toLowerCase(),
      eventId: e.eventId,
      namespaceId: e.namespaceId,
      sourceId: e.sourceId,
      updateId: update.toLowerCase(),
      revisionNumber: e.revisionNumber,
      timeAtTarget: new Date(at).toISOString(),
      win32HResult: e.win32HResult,
      appName: e.appName.slice(0, MAX_APP_NAME),
      replacementStrings: e.replacementStrings.slice(0, MAX_REPLACEMENT_STRINGS).map((s) => s.slice(0, MAX_REPLACEMENT_CHARS)),
      miscData: misc,
    });
    const inv = inventoryFromEvent(e.machine, misc);
    if (inv) out.inventory = { ...out.inventory, ...inv };
  }
  return out;
}
