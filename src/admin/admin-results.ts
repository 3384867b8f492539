import type { Readable } from 'node:stream';
import type { AdminProgress } from './admin-router.types.js';

// Typed builders for the two non-JSON handler results (AdminResult includes `unknown`, so a
// bare object literal gets no contextual typing): `return progress(async (report) => …)`.

export interface ProgressResult<T = unknown> {
  kind: 'progress';
  run: (report: (p: AdminProgress) => void) => Promise<T>;
}

export interface StreamResult {
  kind: 'stream';
  contentType: string;
  fileName: string;
  body: Readable;
}

export function progress<T>(run: (report: (p: AdminProgress) => void) => Promise<T>): ProgressResult<T> {
  return { kind: 'progress', run };
}

export function attachment(fileName: string, body: Readable, contentType = 'application/octet-stream'): StreamResult {
  return { kind: 'stream', contentType, fileName, body };
}
