// The contract between CLI commands and the admin API client. Commands parse their flags,
// call the API, and print (a table for people, `--json` for scripts); they never open the
// database themselves (except the bootstrap commands: serve, tokens create, fixtures, cert).

import type { AdminProgress } from '../admin/admin-router.types.js';

export interface AdminClient {
  /** base URL of the admin API, for messages */
  readonly url: string;
  get<T = unknown>(path: string, query?: Record<string, string | number | boolean | undefined>): Promise<T>;
  send<T = unknown>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** long work: progress lines go to onProgress (the CLI draws them on stderr), the result is returned */
  run<T = unknown>(method: 'POST', path: string, body: unknown, onProgress: (p: AdminProgress) => void): Promise<T>;
  /** downloads a stream (exports) to a file */
  download(path: string, query: Record<string, string | number | boolean | undefined>, toFile: string): Promise<{ bytes: number }>;
  /** uploads a file (imports) and follows the progress of the import */
  upload<T = unknown>(path: string, fromFile: string, onProgress: (p: AdminProgress) => void): Promise<T>;
}
