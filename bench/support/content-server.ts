// The content benchmark's server child: the /Content routes mounted on an Express app the way
// the client listener mounts them, over a directory locator (files laid out as
// ROOT/Content/XX/<SHA1>.<ext>, the same tree nginx serves).
//
//   node dist/bench/support/content-server.js ROOT PORT [router|direct]
//
// `router` (default): createContentRoutes as an Express router; `direct`: createContentHandler
// called before Express, as the SOAP POSTs already are.

import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import type { ContentLocator, StoredContent } from '../../src/core/content/content-types.js';
import { createContentHandler, createContentRoutes } from '../../src/http/content-routes.js';
import { createLogger } from '../../src/logger.js';

const [root, portArg, mode = 'router'] = process.argv.slice(2);
if (!root || !portArg) {
  process.stderr.write('usage: content-server.js ROOT PORT [router|direct]\n');
  process.exit(2);
}

const files = new Map<string, StoredContent>();
const contentRoot = join(root, 'Content');
for (const dir of readdirSync(contentRoot)) {
  for (const name of readdirSync(join(contentRoot, dir))) {
    const sha1 = name.slice(0, 40).toUpperCase();
    const path = join(contentRoot, dir, name);
    const st = statSync(path);
    files.set(sha1, { sha1Hex: sha1, size: st.size, path, storedAtMs: st.mtimeMs });
  }
}
const locator: ContentLocator = {
  locate: (sha1) => files.get(sha1),
  isKnown: (sha1) => files.has(sha1),
  requestDownload: () => undefined,
};
const opts = { locator, selfUpdateDir: join(root, 'selfupdate'), log: createLogger('error') };

const app = express();
app.disable('x-powered-by');
app.disable('etag');
if (mode === 'router') app.use(createContentRoutes(opts));
app.use((_req, res) => {
  res.status(404).type('text/plain').send('not found\n');
});
const direct = createContentHandler(opts);
const server = mode === 'direct'
  ? createServer((req, res) => {
    if (!direct(req, res)) app(req, res);
  })
  : createServer(app);
server.listen(Number(portArg), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
