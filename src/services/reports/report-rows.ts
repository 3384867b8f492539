import type { ComputerRef, UpdateRef } from '../../core/reporting/report-types.js';
import type { ComputerFact } from './computer-facts.js';
import type { ReportView } from './status-index.js';

// The shared parts of report rows (report-types.ts UpdateRef and ComputerRef) from the facts.

export function updateRef(view: ReportView, i: number): UpdateRef {
  const f = view.updates;
  return {
    updateId: f.updateId[i]!, title: f.title[i]!, kb: f.kb[i]!, classification: f.classification[i]!, products: f.products[i]!,
    msrcSeverity: f.msrcSeverity[i]!, arrivedAt: f.arrivedAt[i]!, declined: f.declined[i] === 1, approved: f.approved[i] === 1,
  };
}

export function computerRef(view: ReportView, c: ComputerFact): ComputerRef {
  return {
    clientId: c.clientId, name: c.name, address: c.address, groups: c.groupNames, os: c.os,
    lastContactAt: c.lastContactAt || null, lastStatusAt: view.entries.get(c.clientId)?.statusAtIso ?? null, lastReportAt: c.lastReportAt,
  };
}

/** Whether an update matches free text: title substring, KB number (with or without "KB") or update id. */
export function updateMatchesText(view: ReportView, i: number, text: string): boolean {
  const f = view.updates;
  if (f.titleLower[i]!.includes(text)) return true;
  const kb = /^(?:kb)?(\d{4,8})$/.exec(text);
  if (kb && f.kb[i]!.includes(String(Number(kb[1])))) return true;
  return text.length >= 8 && f.updateId[i]!.startsWith(text);
}

/** Whether a computer matches free text: name substring, IP address prefix or client id prefix. */
export function computerMatchesText(c: ComputerFact, text: string): boolean {
  if (c.nameLower.includes(text)) return true;
  if (c.address && c.address.toLowerCase().startsWith(text)) return true;
  return text.length >= 8 && c.clientId.startsWith(text);
}
