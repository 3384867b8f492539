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

/**
 * An upload (imports): the request body is NOT parsed — it is handed over as a byte stream
 * (`Content-Type: application/octet-stream`, no size limit from the listener: the handler must
 * consume or bound it, e.g. by streaming it to a temporary file). `req.body` is `{}`; options
 * travel in the query string (`req.query`), and the audit row records them as the body.
 * Usually returns a `progress` result so the CLI can follow the import.
 */
export type AdminUploadHandler = (req: AdminRequest, body: Readable) => AdminResult | Promise<AdminResult>;

export interface AdminRouter {
  /** GET, for reporters and admins */
  read(path: string, handler: AdminHandler): void;
  /**
   * A change: admins only, audited as `action` (e.g. `updates.approve`) with the request body
   * (secrets redacted) and the outcome. A body with `whatIf: true` or `dryRun: true` is audited as
   * a dry run. Paths look like `/api/groups/:id`.
   */
  change(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, action: string, handler: AdminHandler): void;
  /**
   * A change whose request body is a byte stream (POST, admins only, audited as `action` with
   * the query parameters): `AdminClient.upload(path, file, onProgress)` sends a file to it.
   * A query parameter `dryRun=true` or `whatIf=true` is audited as a dry run.
   */
  upload(path: string, action: string, handler: AdminUploadHandler): void;
}

/** A feature's routes: `(router, deps) => void`, registered once at start. */
export type RegisterRoutes<D> = (router: AdminRouter, deps: D) => void;
