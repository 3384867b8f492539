// The contract every admin feature writes its routes against. The admin listener (its own
// port, loopback by default) authenticates the bearer token, enforces the role, parses JSON,
// maps DomainErrors to `{ error, code }` with an HTTP status, and writes the audit log for
// every `change` route — handlers only call services and return JSON-serializable data.

import type { Readable } from 'node:stream';

export type AdminRole = 'admin' | 'reporter';

export interface AdminActor {
  tokenId: string;
  /** the token's name, e.g. `alice` or `ci-pipeline` (what the audit log shows as "who") */
  name: string;
  role: AdminRole;
  /** remote address of the request */
  address: string | null;
}

export interface AdminRequest {
  /** `:name` path parameters, URL-decoded */
  params: Record<string, string>;
  query: URLSearchParams;
  /** parsed JSON body (`{}` when none); validate every field — it is untrusted input */
  body: Record<string, unknown>;
  actor: AdminActor;
  signal: AbortSignal;
}

/** Progress of long work, streamed to the CLI as NDJSON lines before the final result. */
export interface AdminProgress {
  phase: string;
  done: number;
  total: number;
}

/**
 * What a handler returns: JSON-serializable data (sent with 200), or a long-running result
 * whose progress the listener streams as NDJSON (`{"progress":…}` lines, then `{"result":…}`
 * or `{"error":…,"code":…}`), or a byte stream (exports) sent as application/octet-stream.
 */
export type AdminResult =
  | unknown
  | { kind: 'progress'; run: (report: (p: AdminProgress) => void) => Promise<unknown> }
  | { kind: 'stream'; contentType: string; fileName: string; body: Readable };

export type AdminHandler = (req: AdminRequest) => AdminResult | Promise<AdminResult>;

export interface AdminRouter {
  /** GET, for reporters and admins */
  read(path: string, handler: AdminHandler): void;
  /**
   * A change: admins only, audited as `action` (e.g. `updates.approve`) with the request body
   * (secrets redacted) and the outcome. A body with `whatIf: true` or `dryRun: true` is audited as
   * a dry run. Paths look like `/api/groups/:id`.
   */
  change(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, action: string, handler: AdminHandler): void;
}

/** A feature's routes: `(router, deps) => void`, registered once at start. */
export type RegisterRoutes<D> = (router: AdminRouter, deps: D) => void;
