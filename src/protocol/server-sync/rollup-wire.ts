import { invalidParameters } from '../../core/errors.js';
import type { RollupConfiguration, RollupRecord } from '../../core/server-sync/server-sync-model.js';
import type { ChangedComputer, ComputerRollup, ComputerStatusRollup } from '../../services/upstream-role/upstream-role.types.js';
import { escapeAttr, escapeText } from '../xml/escape.js';
import { child, children, isNil, type XmlElement } from '../xml/xml-element.js';
import { given, optionalText, parseBool, parseGuid, parseInt32 } from './server-sync-readers.js';
import { arrayXml } from './server-sync-writers.js';
import { SERVER_SYNC_NS } from './namespaces.js';

// The reporting-rollup half of ReportingWebService ([MS-WSUSSS] 3.1.4.11-3.1.4.17), readers
// and writers. Shapes: [MS-WSUSSS] Appendix A 6.3 (Reporting Web Service WSDL) and Sample 3
// (empty results as `<RollupComputersResult />`, `<RollupDownstreamServersResponse ... />`),
// cross-checked with microsoft/update-server-server-sync `Connected Services/
// Microsoft.UpdateServices.WebServices.ServerReporting/Reference.cs`. Rollup records are kept
// as strings for reports: the service stores them, it does not interpret them.

/** Caps a record so a hostile downstream cannot make one report row arbitrarily large. */
const MAX_FIELDS = 4096;
const MAX_VALUE = 1024;

/** The array-typed members of the rollup records (Appendix A 6.3); everything else is a struct or a leaf. */
const ARRAY_MEMBERS: ReadonlySet<string> = new Set(['ClientSummaries', 'ActivitySummaries', 'TargetGroupIdList', 'RequestedTargetGroupNames']);

const plainAttrs = (e: XmlElement): Array<readonly [string, string]> => e.attrs.filter(([k]) => !k.startsWith('xmlns') && !k.includes(':'));
const isLeaf = (e: XmlElement): boolean => e.children.length === 0 && plainAttrs(e).length === 0;

/**
 * Flattens an element into `path -> text`: attributes and leaf children by name, structures
 * as `Parent.Child`, array items as `Array.<index>` or `Array.<index>.Field`. E.g.
 * `ServerSummary.UpdateCount`, `ClientSummaries.0.OSLocale`, `Details.TargetGroupIdList.0`.
 */
export function flattenRecord(el: XmlElement, path: string): RollupRecord {
  const out: RollupRecord = {};
  let n = 0;
  const put = (k: string, v: string): void => {
    if (++n > MAX_FIELDS) throw invalidParameters(path);
    out[k] = v.trim().slice(0, MAX_VALUE);
  };
  const walk = (e: XmlElement, prefix: string): void => {
    for (const [k, v] of plainAttrs(e)) put(prefix + k, v);
    for (const c of e.children) {
      if (isNil(c)) continue;
      if (ARRAY_MEMBERS.has(c.local)) {
        c.children.filter((i) => !isNil(i)).forEach((item, i) => {
          if (isLeaf(item)) put(`${prefix}${c.local}.${i}`, item.text);
          else walk(item, `${prefix}${c.local}.${i}.`);
        });
      } else if (isLeaf(c)) put(prefix + c.local, c.text);
      else walk(c, `${prefix}${c.local}.`);
    }
  };
  walk(el, '');
  return out;
}

function items(op: XmlElement, name: string, item: string, max: number): XmlElement[] {
  const c = child(op, name);
  if (!given(c)) return [];
  const list = children(c, item).filter((i) => !isNil(i));
  if (list.length > max) throw invalidParameters(name);
  return list;
}

export function readDownstreamServers(op: XmlElement, max: number): RollupRecord[] {
  return items(op, 'downstreamServers', 'DownstreamServerRollupInfo', max).map((s) => {
    const r = flattenRecord(s, 'downstreamServers');
    parseGuid(r.ServerId, 'downstreamServers');
    return r;
  });
}

/** ComputerRollupInfo: ComputerId and the other data are attributes; Details nested. */
export function readComputers(op: XmlElement, max: number): ComputerRollup[] {
  return items(op, 'computers', 'ComputerRollupInfo', max).map((c) => {
    const fields = flattenRecord(c, 'computers');
    const computerId = fields.ComputerId?.trim();
    if (!computerId || computerId.length > 256) throw invalidParameters('computers');
    delete fields.ComputerId;
    return { computerId, fields };
  });
}

export function readLastRollupNumbers(op: XmlElement, max: number): Array<{ computerId: string; lastRollupNumber: number }> {
  return items(op, 'lastRollupNumbers', 'ComputerLastRollupNumber', max).map((c) => {
    const computerId = optionalText(c, 'ComputerId')?.trim();
    if (!computerId || computerId.length > 256) throw invalidParameters('lastRollupNumbers');
    return { computerId, lastRollupNumber: parseInt32(optionalText(c, 'RollupNumber'), 'lastRollupNumbers') };
  });
}

export function readComputerStatuses(op: XmlElement, max: number, maxStatuses: number): ComputerStatusRollup[] {
  return items(op, 'computers', 'ComputerStatusRollupInfo', max).map((c) => {
    const computerId = optionalText(c, 'ComputerId')?.trim();
    if (!computerId || computerId.length > 256) throw invalidParameters('computers');
    const fields: Record<string, string> = {};
    for (const name of ['InstanceId', 'EffectiveLastDetectionTime', 'RollupNumber', 'IsFullRollup']) {
      const v = optionalText(c, name);
      if (v !== null) fields[name] = v.trim().slice(0, MAX_VALUE);
    }
    if (fields.IsFullRollup !== undefined) parseBool(fields.IsFullRollup, 'computers');
    const statuses = items(c, 'UpdateStatus', 'ComputerStatusRollupUpdateStatus', maxStatuses).map((s) => ({
      updateId: parseGuid(optionalText(s, 'UpdateId'), 'computers'),
      // ComputerStatusRollupUpdateStatus has no revision (Appendix A 6.3).
      revisionNumber: null,
      summarizationState: parseInt32(optionalText(s, 'SummarizationState'), 'computers'),
      lastChangeTime: optionalText(s, 'LastChangeTime')?.trim() || null,
    }));
    return { computerId, fields, statuses };
  });
}

const response = (op: string, inner: string): string => `<${op}Response xmlns="${SERVER_SYNC_NS}">${inner}</${op}Response>`;

export function rollupConfigurationResponse(r: RollupConfiguration): string {
  return response('GetRollupConfiguration', '<GetRollupConfigurationResult>' +
    `<DoDetailedRollup>${r.doDetailedRollup}</DoDetailedRollup><RollupResetGuid>${escapeText(r.rollupResetGuid)}</RollupResetGuid>` +
    `<ServerId>${escapeText(r.serverId)}</ServerId>` +
    `<RollupDownstreamServersMaxBatchSize>${r.rollupDownstreamServersMaxBatchSize}</RollupDownstreamServersMaxBatchSize>` +
    `<RollupComputersMaxBatchSize>${r.rollupComputersMaxBatchSize}</RollupComputersMaxBatchSize>` +
    `<GetOutOfSyncComputersMaxBatchSize>${r.getOutOfSyncComputersMaxBatchSize}</GetOutOfSyncComputersMaxBatchSize>` +
    `<RollupComputerStatusMaxBatchSize>${r.rollupComputerStatusMaxBatchSize}</RollupComputerStatusMaxBatchSize>` +
    '</GetRollupConfigurationResult>');
}

export const rollupDownstreamServersResponse = (): string => `<RollupDownstreamServersResponse xmlns="${SERVER_SYNC_NS}" />`;

/** ChangedComputer carries its fields as attributes. */
export function rollupComputersResponse(changed: readonly ChangedComputer[]): string {
  return response('RollupComputers', arrayXml('RollupComputersResult',
    changed.map((c) => `<ChangedComputer ComputerId="${escapeAttr(c.computerId)}" Change="${c.change}" />`)));
}

export function outOfSyncComputersResponse(ids: readonly string[]): string {
  return response('GetOutOfSyncComputers', arrayXml('GetOutOfSyncComputersResult', ids.map((i) => `<string>${escapeText(i)}</string>`)));
}

export function rollupComputerStatusResponse(ok: boolean): string {
  return response('RollupComputerStatus', `<RollupComputerStatusResult>${ok}</RollupComputerStatusResult>`);
}
