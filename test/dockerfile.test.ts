import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// No Docker engine runs in CI, so the image's deployment guarantees are checked on the
// Dockerfile itself: what a reviewer would look for before publishing the image.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const lines = runtime.split('\n').map((l) => l.trim());
const directive = (name: string): string[] => lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

test('the runtime image runs as a non-root user and does not own its program files', () => {
  const users = directive('USER');
  assert.equal(users.length, 1, 'one USER in the runtime stage');
  assert.doesNotMatch(users[0]!, /^(root|0)(:|$)/);
  for (const copy of directive('COPY')) assert.match(copy, /--chown=root:root/, `program files stay root-owned: COPY ${copy}`);
  assert.ok(!/apt-get install[^\n]*(g\+\+|make|python3)/.test(runtime), 'no compilers in the runtime image');
});

test('database and content store are volumes; the data directory is the server default', () => {
  const volumes = directive('VOLUME').join(' ');
  assert.match(volumes, /"\/var\/lib\/wsus"/);
  assert.match(volumes, /"\/var\/lib\/wsus\/content"/);
  assert.ok(directive('ENV').some((e) => e === 'WSUS_DATA=/var/lib/wsus'));
});

test('client ports are published, the admin port is not; a health check probes the version URL', () => {
  const exposed = directive('EXPOSE').join(' ').split(/\s+/);
  assert.deepEqual(exposed.sort(), ['8530', '8531']);
  const health = runtime.slice(runtime.indexOf('HEALTHCHECK'));
  assert.match(health, /\/ClientWebService\/wusserverversion\.xml/);
  assert.match(directive('STOPSIGNAL')[0] ?? '', /SIGTERM/);
  assert.match(directive('ENTRYPOINT')[0] ?? '', /dist\/src\/cli\/main\.js/);
});

test('the image carries what the server reads at run time (WSDL, dashboard)', () => {
  const copies = directive('COPY').join('\n');
  for (const dir of ['dist', 'node_modules', 'wsdl', 'web']) assert.match(copies, new RegExp(`\\b${dir}\\b`), dir);
});
