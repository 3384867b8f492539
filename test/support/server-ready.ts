import { createServer } from 'node:net';
import { request } from 'undici';

// Waiting for `wsus serve` started as a child process (tests and benchmarks): ready once the
// client listener answers its version URL and the admin listener, which starts after it, asks
// for a token.

export async function waitUntilServing(o: {
  url: string;
  adminUrl: string;
  /** a description of why the child is gone (exit code, output tail), or null while it runs */
  exited: () => string | null;
  timeoutMs: number;
  /** what the timeout error adds (the child's output so far) */
  output: () => string;
}): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const gone = o.exited();
    if (gone !== null) throw new Error(`server exited during start: ${gone}`);
    if (Date.now() > deadline) throw new Error(`server did not answer within ${Math.round(o.timeoutMs / 1000)} s:\n${o.output()}`);
    try {
      const r = await request(`${o.url}/ClientWebService/wusserverversion.xml`, { headersTimeout: 2000, bodyTimeout: 2000 });
      await r.body.dump();
      const a = r.statusCode === 200 ? await request(`${o.adminUrl}/api/groups`, { headersTimeout: 2000, bodyTimeout: 2000 }) : null;
      await a?.body.dump();
      if (a?.statusCode === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A loopback port free right now, for a child server's listeners. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
