import { DomainError } from '../../core/errors.js';
import type { SearchResult } from '../../core/reporting/report-types.js';
import { byText } from './report-filters.js';
import { computerMatchesText, computerRef, updateMatchesText, updateRef } from './report-rows.js';
import type { ReportView } from './status-index.js';

// Fleet search (the dashboard's search box): computers by name, IP or client id, updates by
// title, KB number or id; the first 20 of each (computers by name, updates newest first).

const TOP = 20;

export function searchReport(view: ReportView, q: string | undefined): SearchResult {
  const text = q?.trim().toLowerCase() ?? '';
  if (!text) throw new DomainError('InvalidInput', 'q', 'q: give some text to search for');
  if (text.length > 256) throw new DomainError('InvalidInput', 'q', 'q is limited to 256 characters');
  return view.memo(`search.${text}`, () => {
    const computers = view.computers.list.filter((c) => computerMatchesText(c, text))
      .sort((a, b) => byText(a.nameLower, b.nameLower) || byText(a.clientId, b.clientId)).slice(0, TOP);
    const f = view.updates;
    const updates: number[] = [];
    for (let i = 0; i < f.n; i++) if (updateMatchesText(view, i, text)) updates.push(i);
    updates.sort((a, b) => f.arrivedMs[b]! - f.arrivedMs[a]! || byText(f.titleLower[a]!, f.titleLower[b]!));
    return { computers: computers.map((c) => computerRef(view, c)), updates: updates.slice(0, TOP).map((i) => updateRef(view, i)) };
  });
}
