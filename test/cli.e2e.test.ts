import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { freePort } from './support/server-ready.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { projectRoot } from '../src/paths.js';
import { tempDataDir, withServer } from './support/test-server.js';
import { cliFor } from './support/admin-cli.js';

// The administrator's first minutes: `wsus serve` on an empty data directory creates the
// database, imports the demo catalog and answers probes; SIGTERM stops it cleanly; commands
// fail with the documented exit codes.

const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

function wsus(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, WSUS_LOG_LEVEL: 'error' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('wsus serve on an empty data directory: migrated database, demo catalog, probes, clean SIGTERM', async () => {
  const tmp = tempDataDir();
  try {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN, 'serve', '--data', tmp.dir, '--port', String(port), '--host', '127.0.0.1', '--admin-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let probe: Response | undefined;
      for (let i = 0; i < 100 && !probe; i++) {
        probe = await fetch(`http://127.0.0.1:${port}/ClientWebService/wusserverversion.xml`).catch(() => undefined);
        if (!probe) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(probe?.status, 200, log);
      assert.ok(existsSync(join(tmp.dir, 'wsus.db')));
      assert.match(log, /demo catalog imported/);
      assert.match(log, /plain HTTP/i, 'warns that metadata is served without TLS');
      assert.equal((await fetch(`http://127.0.0.1:${port}/SimpleAuthWebService/SimpleAuth.asmx`)).status, 200);
      assert.equal((await fetch(`http://127.0.0.1:${port}/Content/anonymousCheckFile.txt`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log);
    // A second start finds the catalog and does not import the demo again.
    const groups = wsus(['groups', 'list', '--local', '--data', tmp.dir, '--json']);
    assert.equal(groups.status, 0, groups.stderr);
    assert.ok((JSON.parse(groups.stdout) as Array<{ name: string }>).some((g) => g.name === 'Unassigned Computers'));
  } finally {
    tmp.cleanup();
  }
});

test('CLI errors: usage 2, not found 3, conflict 4, with a message on stderr', async () => {
  assert.equal(wsus(['frobnicate']).status, 2);
  // The admin commands talk to a running server's admin API.
  await withServer({}, () => undefined, async (server) => {
    const api = cliFor(server);
    assert.equal((await api('approve', 'not-a-guid', '--group', 'All Computers', '--action', 'later')).status, 2);
    assert.equal((await api('approve', '11111111-2222-3333-4444-555555555555')).status, 2, '--group is required');
    const missing = await api('approve', '11111111-2222-3333-4444-555555555555', '--group', 'All Computers');
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /not found/);
    assert.equal((await api('groups', 'create', 'Pilot')).status, 0);
    assert.equal((await api('groups', 'create', 'pilot')).status, 4, 'group names are case-insensitive');
    assert.equal((await api('groups', 'create', 'Ring0', '--parent', 'NoSuch')).status, 3);
  });
  const tmp = tempDataDir();
  try {
    assert.equal(wsus(['serve', '--port', '99999', '--data', tmp.dir]).status, 2);
  } finally {
    tmp.cleanup();
  }
});
