import { invalidParameters } from '../../core/errors.js';
import { child, children, type XmlElement } from '../xml/xml-element.js';
import { REPORTING_NS } from '../soap/namespaces.js';
import { cookieData, int, present, stringArray, text } from './request-readers.js';
import type { OperationHandler } from './operation-context.js';
import type { IncomingEvent } from '../../core/reporting/report-event.js';
import type { ReportedMachine } from '../../core/reporting/event-inventory.js';

// ReportEventBatch: reads the events (integers checked here, the rest by the reporting service)
// and answers true once the batch is stored. Strings are cut on reading so nothing unbounded
// travels further; MiscData keeps long entries (status lists) for the service to bound.

const MAX_FIELD = 1024;
/** a status list of 20,000 update ids (see src/core/reporting/report-event.ts) */
const MAX_MISC_ENTRY = 2 + 20_000 * 37;

const clip = (v: string | undefined, max = MAX_FIELD): string | undefined => (v === undefined ? undefined : v.slice(0, max));

/** Inventory is informational: a malformed number is dropped, not a fault. */
function optionalInt(el: XmlElement | undefined, name: string): number | undefined {
  const v = text(el, name)?.trim();
  return v !== undefined && /^-?\d{1,10}$/.test(v) && Math.abs(Number(v)) <= 2147483647 ? Number(v) : undefined;
}

function machineOf(ext: XmlElement | undefined): ReportedMachine | null {
  if (!present(ext)) return null;
  const os = child(ext, 'OSVersion');
  const m: ReportedMachine = {
    brand: clip(text(ext, 'ComputerBrand'), 256),
    model: clip(text(ext, 'ComputerModel'), 256),
    biosRevision: clip(text(ext, 'BiosRevision'), 256),
    processorArchitecture: clip(text(ext, 'ProcessorArchitecture'), 256),
    osMajor: optionalInt(os, 'Major'),
    osMinor: optionalInt(os, 'Minor'),
    osBuild: optionalInt(os, 'Build'),
    osLocaleId: optionalInt(ext, 'OSLocaleID'),
  };
  return Object.values(m).some((v) => v !== undefined) ? m : null;
}

export const reportEventBatch: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: true });
  if (text(op, 'clientTime') === undefined) throw invalidParameters('clientTime');
  const batch = child(op, 'eventBatch');
  if (!present(batch)) throw invalidParameters('eventBatch');
  const items = children(batch, 'ReportingEvent');
  if (items.length > ctx.limits.maxEventsPerBatch) throw invalidParameters('eventBatch');
  const maxItems = ctx.limits.maxArrayItems;
  const events: IncomingEvent[] = items.map((ev) => {
    const basic = child(ev, 'BasicData');
    const ext = child(ev, 'ExtendedData');
    const upd = child(basic, 'UpdateID');
    return {
      targetSid: clip(text(child(basic, 'TargetID'), 'Sid'), 64) ?? '',
      eventInstanceId: clip(text(basic, 'EventInstanceID'), 64) ?? '',
      eventId: int(basic, 'EventID', 'eventBatch'),
      namespaceId: int(basic, 'NamespaceID', 'eventBatch', 1),
      sourceId: int(basic, 'SourceID', 'eventBatch', 0),
      updateId: clip(text(upd, 'UpdateID'), 64) ?? '00000000-0000-0000-0000-000000000000',
      revisionNumber: int(upd, 'RevisionNumber', 'eventBatch', 0),
      timeAtTarget: clip(text(basic, 'TimeAtTarget'), 64) ?? '',
      win32HResult: int(basic, 'Win32HResult', 'eventBatch', 0),
      appName: clip(text(basic, 'AppName'), 256) ?? '',
      replacementStrings: (stringArray(ext, 'ReplacementStrings', 'eventBatch', maxItems) ?? []).slice(0, 16).map((s) => s.slice(0, MAX_FIELD)),
      miscData: (stringArray(ext, 'MiscData', 'eventBatch', maxItems) ?? []).map((s) => s.slice(0, MAX_MISC_ENTRY)),
      machine: machineOf(ext),
    };
  });
  const answer = (ok: boolean): string =>
    `<ReportEventBatchResponse xmlns="${REPORTING_NS}"><ReportEventBatchResult>${ok}</ReportEventBatchResult></ReportEventBatchResponse>`;
  const ok = ctx.services.reporting.accept(cookie, events, ctx.address);
  return typeof ok === 'boolean' ? answer(ok) : ok.then(answer);
};
