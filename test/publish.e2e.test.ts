import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { child } from '../src/protocol/xml/xml-element.js';
import { contentLayout } from '../src/services/content/content-layout.js';
import { ALL_COMPUTERS_NAME } from '../src/core/targeting/builtin-groups.js';
import { productCategoryId, vendorCategoryId } from '../src/core/publishing/category-ids.js';
import { cliFor, runCli } from './support/admin-cli.js';
import { downstreamOf, startNode, type ChainNode } from './support/sync-chain.js';
import { WuaClient } from './support/wua-client.js';
import { buildConsoleMsi, exeManifest, HAS_WIXL, msiManifest, tinyExe } from './support/publish-fixtures.js';

// The "done when", end to end with real processes and a real server: a publishing
// certificate is created and exported, an EXE and an MSI are published with manifests and
// approved, a simulated Windows Update Agent is offered them through the normal scan with the
// right metadata and downloads a CAB that osslsigncode verifies against the exported certificate
// and cabextract unpacks to the original payload; a downstream of ours receives update and file;
// --revise and --expire reach the client; a tampered stored CAB is never served.
// The `it`s are steps of one story and run in order.

const hasTool = (tool: string, arg = '--version'): boolean => spawnSync(tool, [arg]).error === undefined;
const HAS_OSSLSIGNCODE = hasTool('osslsigncode');
const HAS_CABEXTRACT = hasTool('cabextract');

interface Published {
  updateId: string; revisionNumber: number; title: string; vendor: string; product: string; classification: string;
  cab: { fileName: string; size: number; sha1Hex: string; sha1: string; sha256: string; urlPath: string };
}

const tmp = mkdtempSync(join(tmpdir(), 'wsus-publish-e2e-'));
const certPem = join(tmp, 'publisher.pem');
const certCer = join(tmp, 'publisher.cer');
const exePath = join(tmp, 'contoso-agent-7.2.exe');
const msiPath = join(tmp, 'contoso-console-3.1.msi');

function jsonOf<T>(r: { status: number | null; stdout: string; stderr: string }, what: string): T {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The revision a client holds for `updateId` (its Core names the update), if any. */
function revisionOf(client: WuaClient, updateId: string): { revisionId: number; core: string; action: string } | undefined {
  const re = new RegExp(`UpdateID="${updateId}"`, 'i');
  return [...client.received.values()].find((u) => re.test(u.core.slice(0, 200)));
}

function rootRevisionNumber(core: string): number {
  return Number(/<UpdateIdentity [^>]*RevisionNumber="(\d+)"/.exec(core)?.[1]);
}

async function extended(client: WuaClient, revisionId: number): Promise<{ extended: string; localized: string; urls: Map<string, string> }> {
  const r = await client.extendedInfo([revisionId]);
  assert.equal(r.status, 200, r.text);
  const result = child(r.result, 'GetExtendedUpdateInfoResult')!;
  const xmls = child(result, 'Updates')!.children.map((u) => child(u, 'Xml')!.text);
  const urls = new Map((child(result, 'FileLocations')?.children ?? []).map((l) => [child(l, 'FileDigest')!.text, child(l, 'Url')!.text]));
  return { extended: xmls.find((x) => x.startsWith('<ExtendedProperties'))!, localized: xmls.find((x) => x.startsWith('<LocalizedProperties'))!, urls };
}

describe('wsus publish, end to end', () => {
  let P: ChainNode;
  let D: ChainNode | undefined;
  let client: WuaClient;
  let exe: Published;
  let msi: Published | undefined;
  let data: string;

  before(async () => {
    P = await startNode('P', {});
    data = P.config.dataDir;
    writeFileSync(exePath, tinyExe('contoso agent 7.2'));
    const msiBytes = buildConsoleMsi();
    if (msiBytes) writeFileSync(msiPath, msiBytes);
  });
  after(async () => {
    await D?.close();
    await P?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('creates and exports the publishing certificate, publishes an EXE and an MSI', async () => {
    assert.equal((await runCli(['signing', 'create', '--data', data, '--subject', 'CN=Contoso Publishing, O=Contoso, C=US'])).status, 0);
    const e = await runCli(['signing', 'export-cert', '--data', data, '--out', certPem]);
    assert.equal(e.status, 0, e.stderr);
    assert.ok(new X509Certificate(readFileSync(certCer)).raw.length > 0, 'DER certificate written');

    writeFileSync(join(tmp, 'exe.json'), JSON.stringify(exeManifest()));
    const text = await runCli(['publish', exePath, '--manifest', join(tmp, 'exe.json'), '--data', data]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /published "Contoso Agent 7\.2"/);
    assert.match(text.stdout, /wsus approve [0-9a-f-]{36} --group "All Computers"/);
    assert.match(text.stdout, /content URL:\s+\/Content\/[0-9A-F]{2}\/[0-9A-F]{40}\.cab/);
    const listed = jsonOf<Array<{ updateId: string }>>(await runCli(['publish', '--list', '--json', '--data', data]), 'list');
    assert.equal(listed.length, 1);
    exe = { ...listed[0]!, ...(await publishedDetails(listed[0]!.updateId)) } as Published;

    if (HAS_WIXL) {
      writeFileSync(join(tmp, 'msi.json'), JSON.stringify(msiManifest()));
      msi = jsonOf<Published>(await runCli(['publish', msiPath, '--manifest', join(tmp, 'msi.json'), '--data', data, '--json']), 'publish msi');
      assert.equal(msi.title, 'Contoso Console 3.1 (MSI)');
    }
    const list = await runCli(['publish', '--list', '--data', data]);
    assert.match(list.stdout, /Contoso Agent 7\.2/);
  });

  /** What the text output does not carry in full: the --json of a publish is the source of truth. */
  async function publishedDetails(updateId: string): Promise<Partial<Published>> {
    // Re-read from the catalog: the file row of the current revision.
    return P.admin((h) => {
      const f = h.db.prepare(
        `SELECT f.sha1_hex AS sha1Hex, f.sha1, f.sha256, f.file_name AS fileName, f.size FROM files f
           JOIN updates u ON u.current_revision_id = f.revision_id WHERE u.update_id = ?`,
      ).get(updateId) as Published['cab'];
      return { cab: { ...f, urlPath: `/Content/${f.sha1Hex.slice(-2)}/${f.sha1Hex}.cab` } };
    });
  }

  it('approved for All Computers, a client scan offers it with its categories and metadata', async () => {
    const wsus = cliFor(P.server);
    const ids = [exe.updateId, ...(msi ? [msi.updateId] : [])];
    const a = await wsus('approve', ...ids, '--group', ALL_COMPUTERS_NAME);
    assert.equal(a.status, 0, a.stderr);
    client = new WuaClient(P.url, randomUUID());
    await client.handshake();
    await client.fullScan();
    const rev = revisionOf(client, exe.updateId);
    assert.ok(rev, 'the published EXE update is offered');
    assert.equal(rev.action, 'Install');
    // Its category prerequisites (classification and product) arrived before it, as categories.
    const prereqs = [...rev.core.matchAll(/<UpdateIdentity UpdateID="([0-9a-fA-F-]{36})"\s*\/>/g)].map((m) => m[1]!.toLowerCase());
    assert.ok(prereqs.length >= 2, `prerequisites in Core: ${rev.core}`);
    for (const id of prereqs) assert.ok(revisionOf(client, id), `category ${id} was offered too`);
    assert.ok(prereqs.includes('cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83'), 'the Updates classification');
    const productId = productCategoryId('Contoso', 'Contoso Agent');
    assert.ok(prereqs.includes(productId), 'the product category');
    // The product's own prerequisite is its vendor (Company) category, which the client got too.
    assert.ok(revisionOf(client, vendorCategoryId('Contoso')), 'the vendor category was offered');
    assert.match(revisionOf(client, productId)!.core, new RegExp(vendorCategoryId('Contoso'), 'i'));

    const x = await extended(client, rev.revisionId);
    assert.match(x.localized, /<Title>Contoso Agent 7\.2<\/Title>/);
    assert.match(x.extended, /5099001/, 'KB article');
    assert.match(x.extended, /\/quiet \/norestart/, 'the command line in the handler data');
    assert.ok(x.extended.includes(exe.cab.sha1), 'file SHA-1 in Extended');
    assert.ok(exe.cab.sha256 && x.extended.includes(exe.cab.sha256), 'file SHA-256 in Extended');
    assert.equal(x.urls.get(exe.cab.sha1), `${P.url}${exe.cab.urlPath}`);

    if (msi) {
      const m = revisionOf(client, msi.updateId);
      assert.ok(m, 'the published MSI update is offered');
      const mx = await extended(client, m.revisionId);
      assert.match(mx.localized, /Contoso Console 3\.1/);
      assert.match(m.core + mx.extended, /5C2A8F0E-3D1B-4E7A-9F60-2B8C4D1E7A31/i, 'the MSI product code read from the package');
      assert.ok(mx.urls.get(msi.cab.sha1));
    }
  });

  it('the CAB downloads with the metadata digests, osslsigncode verifies it, cabextract yields the payload', async (t) => {
    for (const [p, payload] of [[exe, exePath], ...(msi ? [[msi, msiPath] as const] : [])] as Array<[Published, string]>) {
      const res = await fetch(`${P.url}${p.cab.urlPath}`);
      assert.equal(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(bytes.length, p.cab.size);
      assert.equal(createHash('sha1').update(bytes).digest('base64'), p.cab.sha1);
      assert.equal(createHash('sha256').update(bytes).digest('base64'), p.cab.sha256);
      const file = join(tmp, p.cab.fileName);
      writeFileSync(file, bytes);
      if (HAS_OSSLSIGNCODE) {
        const v = spawnSync('osslsigncode', ['verify', '-in', file, '-CAfile', certPem], { encoding: 'utf8' });
        assert.equal(v.status, 0, `osslsigncode verify:\n${v.stdout}\n${v.stderr}`);
      } else {
        t.diagnostic('osslsigncode is not installed: signature check skipped');
      }
      if (HAS_CABEXTRACT) {
        const out = join(tmp, `x-${p.updateId}`);
        mkdirSync(out);
        const x = spawnSync('cabextract', ['-q', '-d', out, file], { encoding: 'utf8' });
        assert.equal(x.status, 0, x.stderr);
        const name = payload.split('/').pop()!;
        assert.ok(readFileSync(join(out, name)).equals(readFileSync(payload)), `${name} extracted byte-exactly`);
      } else {
        t.diagnostic('cabextract is not installed: extraction check skipped');
      }
    }
  });

  it('a downstream of ours receives the published update and its file', async () => {
    D = await startNode('D', { sync: downstreamOf(P.url, 'd.publish.test', { content: 'all' }) });
    await D.sync();
    // A downstream admin who picks products selects ours by its title.
    const sel = await runCli(['products', 'select', exe.product ?? 'Contoso Agent', '--local', '--data', D.config.dataDir]);
    assert.equal(sel.status, 0, sel.stderr);
    await D.sync();
    const onD = D.admin((h) => h.db.prepare(
      `SELECT r.revision_number AS rev, f.sha1_hex AS hex, c.state AS state FROM updates u JOIN revisions r ON r.id = u.current_revision_id
         JOIN files f ON f.revision_id = r.id LEFT JOIN content c ON c.sha1_hex = f.sha1_hex WHERE u.update_id = ?`,
    ).get(exe.updateId) as { rev: number; hex: string; state: string | null } | undefined);
    assert.ok(onD, 'the downstream has the update');
    assert.equal(onD.hex, exe.cab.sha1Hex);
    assert.equal(onD.state, 'present', 'and its file');
  });

  it('--revise publishes a new revision the client sees', async () => {
    const before = revisionOf(client, exe.updateId)!;
    const r = jsonOf<Published>(await runCli(['publish', exePath, '--manifest', join(tmp, 'exe.json'), '--title', 'Contoso Agent 7.2 (refresh)',
      '--revise', exe.updateId, '--data', data, '--json']), 'revise');
    assert.equal(r.updateId, exe.updateId);
    assert.equal(r.revisionNumber, rootRevisionNumber(before.core) + 1);
    await client.fullScan();
    const after = revisionOf(client, exe.updateId);
    assert.ok(after, 'still offered');
    assert.notEqual(after.revisionId, before.revisionId);
    assert.equal(rootRevisionNumber(after.core), r.revisionNumber);
    assert.equal(after.action, 'Install', 'the approval carries over to the new revision');
    assert.match((await extended(client, after.revisionId)).localized, /Contoso Agent 7\.2 \(refresh\)/);
    exe = { ...exe, ...r };
  });

  it('--expire withdraws it from the scan', async () => {
    const held = revisionOf(client, exe.updateId)!;
    const r = await runCli(['publish', '--expire', exe.updateId, '--data', data]);
    assert.equal(r.status, 0, r.stderr);
    const page = await client.syncPage();
    assert.ok(page.outOfScope.includes(held.revisionId) || !revisionOf(client, exe.updateId), 'the client drops it');
    const fresh = new WuaClient(P.url, randomUUID());
    await fresh.handshake();
    await fresh.fullScan();
    assert.equal(revisionOf(fresh, exe.updateId), undefined, 'a new client is not offered it');
    const again = await runCli(['publish', '--expire', exe.updateId, '--data', data]);
    assert.notEqual(again.status, 0, 'expiring twice is refused');
  });

  it('one byte changed in the stored CAB: the next GET is refused', async () => {
    const p = msi ?? exe;
    const path = contentLayout(P.config.contentDir).storePath(p.cab.sha1Hex);
    const fd = openSync(path, 'r+');
    try {
      const b = Buffer.alloc(1);
      const at = Math.floor(p.cab.size / 2);
      readSync(fd, b, 0, 1, at);
      b[0]! ^= 0x01;
      writeSync(fd, b, 0, 1, at);
    } finally {
      closeSync(fd);
    }
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${P.url}${p.cab.urlPath}`);
      await res.arrayBuffer().catch(() => undefined);
      assert.notEqual(res.status, 200, `a tampered file is not served (GET ${i + 1} answered ${res.status})`);
    }
    // The other published CAB is still served.
    const other = p === exe ? undefined : exe;
    if (other) assert.equal((await fetch(`${P.url}${other.cab.urlPath}`)).status, 200);
  });
});
