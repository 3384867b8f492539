import { invalidParameters } from '../../core/errors.js';
import { child, children } from '../xml/xml-element.js';
import { REPORTING_NS } from '../soap/namespaces.js';
import { cookieData, int, present, stringArray, text } from './request-readers.js';
import type { OperationHandler } from './operation-context.js';
import type { IncomingEvent } from '../../services/reporting.service.js';

export const reportEventBatch: OperationHandler = (op, ctx) => {
  const cookie = ctx.services.sessions.authenticate(cookieData(op, 'cookie'), { checkConfig: true });
  if (text(op, 'clientTime') === undefined) throw invalidParameters('clientTime');
  const batch = child(op, 'eventBatch');
  if (!present(batch)) throw invalidParameters('eventBatch');
  const items = children(batch, 'ReportingEvent');
  if (items.length > ctx.limits.maxEventsPerBatch) throw invalidParameters('eventBatch');
  const events: IncomingEvent[] = items.map((ev) => {
    const basic = child(ev, 'BasicData');
    const ext = child(ev, 'ExtendedData');
    const upd = child(basic, 'UpdateID');
    return {
      targetSid: text(child(basic, 'TargetID'), 'Sid') ?? '',
      eventInstanceId: (text(basic, 'EventInstanceID') ?? '').trim(),
      eventId: int(basic, 'EventID', 'eventBatch'),
      namespaceId: int(basic, 'NamespaceID', 'eventBatch', 1),
      sourceId: int(basic, 'SourceID', 'eventBatch', 0),
      updateId: (text(upd, 'UpdateID') ?? '00000000-0000-0000-0000-000000000000').trim(),
      revisionNumber: int(upd, 'RevisionNumber', 'eventBatch', 0),
      timeAtTarget: (text(basic, 'TimeAtTarget') ?? '').slice(0, 40),
      win32HResult: int(basic, 'Win32HResult', 'eventBatch', 0),
      appName: text(basic, 'AppName') ?? '',
      replacementStrings: stringArray(ext, 'ReplacementStrings', 'eventBatch', 1000) ?? [],
      miscData: stringArray(ext, 'MiscData', 'eventBatch', 1000) ?? [],
    };
  });
  const ok = ctx.services.reporting.accept(cookie, events);
  return `<ReportEventBatchResponse xmlns="${REPORTING_NS}"><ReportEventBatchResult>${ok}</ReportEventBatchResult></ReportEventBatchResponse>`;
};
