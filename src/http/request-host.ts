import type { IncomingMessage } from 'node:http';

const HOST_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(:\d{1,5})?$/;

/**
 * The host name the client used to reach us (content URLs must use the same name). A Host
 * header that is not a plain name or address is not echoed back into URLs.
 */
export function hostOf(req: IncomingMessage): string {
  const h = req.headers.host ?? '';
  const m = HOST_RE.exec(h);
  if (m) return m[1]!;
  const local = req.socket.localAddress ?? '127.0.0.1';
  return local.includes(':') ? `[${local}]` : local;
}
