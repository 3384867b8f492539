// Child process: the static floor. A plain node:http server that reads the whole request body
// and answers with bytes captured from the real server for the same request: the throughput
// any server doing real work on this request shape is measured against.
//
// Protocol (IPC): receives { port, plain: CannedResponse, xpress: CannedResponse }, answers
// { listening: true } once it accepts connections.

import { createServer } from 'node:http';

export interface CannedResponse {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

interface Setup {
  port: number;
  plain: CannedResponse;
  xpress: CannedResponse;
}

const XPRESS_RE = /(^|[\s,])xpress($|[\s,;])/i;

process.once('message', (m: unknown) => {
  const setup = m as Setup;
  const plain = { ...setup.plain, body: Buffer.from(setup.plain.bodyBase64, 'base64') };
  const xpress = { ...setup.xpress, body: Buffer.from(setup.xpress.bodyBase64, 'base64') };
  // Same server options as the real one, so connection handling costs the same.
  const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length === 0) {
        res.statusCode = 400;
        res.end();
        return;
      }
      const ae = req.headers['accept-encoding'];
      const r = typeof ae === 'string' && XPRESS_RE.test(ae) ? xpress : plain;
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    });
  });
  server.listen(setup.port, '127.0.0.1', () => process.send!({ listening: true }));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});

process.on('disconnect', () => process.exit(0));
