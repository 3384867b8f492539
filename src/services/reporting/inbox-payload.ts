import type { InboxEvent } from '../../core/reporting/report-event.js';
import type { InventoryPatch } from '../../core/reporting/event-inventory.js';

// What one report_inbox row holds (column `events`): the batch's checked events and the newest
// machine inventory it carried.

export interface InboxPayload {
  inventory: InventoryPatch | null;
  events: InboxEvent[];
}

export function encodePayload(p: InboxPayload): string {
  return JSON.stringify(p);
}

export function decodePayload(text: string): InboxPayload {
  const p = JSON.parse(text) as Partial<InboxPayload> | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.events)) throw new Error('not a report inbox payload');
  return { inventory: p.inventory ?? null, events: p.events };
}
