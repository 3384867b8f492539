import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { projectRoot } from '../../src/paths.js';
import { openDatabase } from '../../src/store/database.js';
import { createAdminTokensStore } from '../../src/store/admin-tokens.store.js';
import { createAdminTokensService } from '../../src/services/admin/admin-tokens.service.js';
import { tempDataDir } from './test-server.js';

// The crash campaign's tools: a seeded PRNG (every kill point is replayable from the printed
// seed), the real `wsus` binary as a child process that is killed with SIGKILL, the checks
// every kill must pass (SQLite integrity, foreign keys, no half-written content), and a
// canonical dump of everything an interrupted run must end up equal to.
//
// Env: WSUS_CRASH_ROUNDS=N kill rounds per kind (CI default: a few), WSUS_CRASH_SEED=S replays.

export const MAIN = join(projectRoot, 'dist', 'src', 'cli', 'main.js');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- seeded randomness ----------------------------------------------------------------------

export interface Rng {
  /** [0, 1) */
  next(): number;
  /** an integer in [lo, hi] */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast, good enough to spread kill points. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (items) => items[Math.floor(next() * items.length)]! };
}

export interface Campaign {
  kind: string;
  seed: number;
  rounds: number;
  rng: Rng;
  /** prefix for assertion messages: how to replay this exact round */
  tag(round: number, detail?: string): string;
  note(message: string): void;
}

/** The rounds and seed of one kind; prints both so a failure can be replayed. */
export function campaign(t: TestContext, kind: string, ciRounds: number): Campaign {
  const fromEnv = Number(process.env.WSUS_CRASH_SEED);
  const seed = Number.isInteger(fromEnv) && process.env.WSUS_CRASH_SEED ? fromEnv >>> 0 : Math.floor(Math.random() * 2 ** 32);
  const env = Number(process.env.WSUS_CRASH_ROUNDS);
  const rounds = Number.isInteger(env) && env > 0 ? env : ciRounds;
  const note = (m: string): void => {
    t.diagnostic(`[crash ${kind}] ${m}`);
    if (process.env.WSUS_CRASH_VERBOSE === '1') process.stderr.write(`[crash ${kind}] ${m}\n`);
  };
  note(`seed ${seed}, ${rounds} round(s) — replay with WSUS_CRASH_SEED=${seed} WSUS_CRASH_ROUNDS=${rounds}`);
  return {
    kind, seed, rounds, rng: rng(seed), note,
    tag: (round, detail) => `[crash ${kind} seed ${seed} round ${round}${detail ? ` ${detail}` : ''}]`,
  };
}

// ---- the wsus binary as a child ----------------------------------------------------------------

export interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export interface WsusChild {
  child: ChildProcess;
  pid: number;
  done: Promise<Exit>;
  alive(): boolean;
  stdout(): string;
  stderr(): string;
  /** JSON log lines seen on stderr so far */
  logs(): Array<Record<string, unknown> & { message: string; level: string }>;
  /** resolves with the first log line `match` accepts (rejects when the process ends first) */
  waitForLog(match: (l: Record<string, unknown> & { message: string }) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** resolves once stderr matches `re` (false when the process ended first) */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<boolean>;
  /** SIGKILL, then the exit */
  kill9(): Promise<Exit>;
}

export function wsus(args: readonly string[], env: Record<string, string> = {}): WsusChild {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, WSUS_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let pendingLine = '';
  const lines: Array<Record<string, unknown> & { message: string; level: string }> = [];
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => {
    const s = c.toString('utf8');
    err += s;
    const parts = (pendingLine + s).split('\n');
    pendingLine = parts.pop()!;
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(p) as (typeof lines)[number]);
      } catch {
        // not a log line
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<Exit>((resolve) => child.on('close', (code, signal) => {
    for (const w of waiters.splice(0)) w();
    resolve({ code, signal, stdout: out, stderr: err });
  }));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child, pid: child.pid!, done, alive,
    stdout: () => out,
    stderr: () => err,
    logs: () => lines,
    async waitForLog(match, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(match);
        if (hit) return hit;
        if (!alive()) throw new Error(`wsus ${args[0]} ended before the expected log line: ${err.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for a log line of wsus ${args[0]}: ${err.slice(-2000)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    async waitForStderr(re, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(err)) {
        if (!alive()) return false;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} on the stderr of wsus ${args[0]}: ${err.slice(-2000)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
      return true;
    },
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      return done;
    },
  };
}

/** Runs a CLI command to its end. */
export async function wsusRun(args: readonly string[], env: Record<string, string> = {}): Promise<Exit> {
  return wsus(args, env).done;
}

export interface ServeChild extends WsusChild {
  url: string;
  adminUrl: string;
}

/** `wsus serve --data DIR` (config.json in DIR) until both listeners are up. */
export async function serve(dir: string, env: Record<string, string> = {}): Promise<ServeChild> {
  const c = wsus(['serve', '--data', dir], { WSUS_LOG_LEVEL: 'info', ...env });
  try {
    const client = await c.waitForLog((l) => l.message === 'server listening');
    const admin = await c.waitForLog((l) => l.message === 'admin API listening');
    return { ...c, url: String(client.url), adminUrl: String(admin.url) };
  } catch (e) {
    await c.kill9();
    throw e;
  }
}

/** Writes DIR/config.json: loopback, ephemeral ports, info logs, no demo catalog, no schedules. */
/** A fresh copy of a prepared data directory (each round starts from the same state); removed with `dirs`. */
export function copyDataDir(template: string, dirs: Array<{ cleanup(): void }>): { dir: string; cleanup(): void } {
  const copy = tempDataDir();
  dirs.push(copy);
  cpSync(template, copy.dir, { recursive: true });
  return copy;
}

export function writeServerConfig(dir: string, settings: Record<string, unknown> = {}): void {
  const raw = {
    host: '127.0.0.1', httpPort: 0, seedDemoCatalog: false, logLevel: 'info',
    ...settings,
    admin: { port: 0, ...(settings.admin as Record<string, unknown> | undefined) },
    maintenance: { schedule: null, ...(settings.maintenance as Record<string, unknown> | undefined) },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(raw, null, 2));
}

/** An admin token stored in DIR's database (copies of the directory keep it). */
export function createAdminToken(dbFile: string): string {
  const db = openDatabase(dbFile);
  try {
    return createAdminTokensService(createAdminTokensStore(db), () => new Date()).create({ name: 'crash-test', role: 'admin', expiresDays: null, createdBy: 'test' }).token;
  } finally {
    db.close();
  }
}

/** One admin API call: status and parsed JSON body. */
export async function adminCall(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/** Kills `c` after `ms` unless it ends first; resolves with its exit either way. */
export function killAfter(c: WsusChild, ms: number): Promise<Exit> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => void c.kill9().then(resolve), ms);
    void c.done.then((e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}

// ---- what every kill must leave -----------------------------------------------------------------

/** PRAGMA integrity_check = ok, foreign_key_check empty: on the files exactly as the kill left them. */
export function assertDatabaseSound(file: string, tag: string): void {
  assert.ok(existsSync(file), `${tag} the database file exists`);
  const db = new Database(file, { fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    assert.deepEqual(integrity.map((r) => r.integrity_check), ['ok'], `${tag} PRAGMA integrity_check`);
    const fk = db.pragma('foreign_key_check') as unknown[];
    assert.deepEqual(fk, [], `${tag} PRAGMA foreign_key_check: ${JSON.stringify(fk.slice(0, 3))}`);
  } finally {
    db.close();
  }
}

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex').toUpperCase();

export interface ContentOnDisk {
  /** digests stored under contentDir/XX/<SHA1> (each verified to hash to its name) */
  stored: string[];
  /** files in .tmp / .partial / .quarantine (never served) */
  scratch: Record<string, number>;
}

/**
 * Every file in the store's servable layout (contentDir/<last two hex>/<SHA1>) hashes to its
 * name, whatever the database says; scratch directories are counted, never served.
 */
export function assertContentOnDisk(contentDir: string, tag: string): ContentOnDisk {
  const out: ContentOnDisk = { stored: [], scratch: {} };
  if (!existsSync(contentDir)) return out;
  for (const sub of readdirSync(contentDir)) {
    if (sub.startsWith('.')) {
      out.scratch[sub] = readdirSync(join(contentDir, sub)).length;
      continue;
    }
    assert.match(sub, /^[0-9A-F]{2}$/, `${tag} only digest folders in the content root: ${sub}`);
    for (const name of readdirSync(join(contentDir, sub))) {
      assert.match(name, /^[0-9A-F]{40}$/, `${tag} only digest-named files in ${sub}/: ${name}`);
      assert.equal(name.slice(38), sub, `${tag} ${name} in the folder of its last two digits`);
      assert.equal(sha1(readFileSync(join(contentDir, sub, name))), name, `${tag} ${sub}/${name} hashes to its name (a half-written file is servable)`);
      out.stored.push(name);
    }
  }
  out.stored.sort();
  return out;
}

/**
 * GET /Content/XX/<SHA1>.cab for each digest: 200 only with bytes that hash to the name, else
 * 404. Returns the digests served.
 */
export async function assertServedContent(baseUrl: string, digests: readonly string[], tag: string): Promise<string[]> {
  const served: string[] = [];
  for (const hex of digests) {
    const res = await fetch(`${baseUrl}/Content/${hex.slice(38)}/${hex}.cab`);
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(res.status === 200 || res.status === 404, `${tag} GET ${hex}: ${res.status}`);
    if (res.status === 200) {
      assert.equal(sha1(body), hex, `${tag} GET /Content/.../${hex} served bytes that are not the file`);
      served.push(hex);
    }
  }
  return served;
}

// ---- the state an interrupted run must end up equal to ------------------------------------------------

type Row = Record<string, unknown>;

/**
 * What clients, downstream servers and admins observe, without ids, sequence numbers or
 * times: updates (current revision, declined, leaf), revisions, files, listing summary, edges,
 * groups, approvals, computers, per-computer status cells and failures (by update id), events,
 * present content (and whether it is marked orphaned).
 */
export function canonicalState(file: string, only?: readonly string[]): Record<string, string[]> {
  const db = new Database(file, { fileMustExist: true });
  try {
    const rows = (sql: string): string[] => (db.prepare(sql).all() as Row[]).map((r) => Object.values(r).map((v) => String(v)).join(' '));
    const status = (): string[] => {
      const idOfPk = new Map((db.prepare('SELECT id, update_id FROM updates').all() as Array<{ id: number; update_id: string }>).map((r) => [r.id, r.update_id]));
      const out: string[] = [];
      for (const r of db.prepare('SELECT client_id, status_at, cells FROM computer_status ORDER BY client_id').all() as Array<{ client_id: string; status_at: string | null; cells: Buffer }>) {
        const cells: string[] = [];
        for (let i = 0; i + 4 <= r.cells.length; i += 4) {
          const v = r.cells.readUInt32LE(i);
          cells.push(`${idOfPk.get(Math.floor(v / 8)) ?? `pk${Math.floor(v / 8)}`}=${v % 8}`);
        }
        out.push(`${r.client_id} ${r.status_at} ${cells.sort().join(',')}`);
      }
      return out;
    };
    const sections: Record<string, () => string[]> = {
      updates: () => rows(`SELECT u.update_id, r.revision_number, u.declined, u.is_leaf, u.update_type FROM updates u
                     LEFT JOIN revisions r ON r.id = u.current_revision_id ORDER BY u.update_id`),
      revisions: () => rows(`SELECT u.update_id, r.revision_number, r.publication_state, length(r.document), r.title FROM revisions r
                       JOIN updates u ON u.id = r.update_pk ORDER BY 1, 2`),
      files: () => rows(`SELECT u.update_id, r.revision_number, f.sha1_hex, f.size FROM files f JOIN revisions r ON r.id = f.revision_id
                   JOIN updates u ON u.id = r.update_pk ORDER BY 1, 2, 3`),
      summary: () => rows('SELECT update_id, update_type, title, kb, publication_state, explicitly_deployable FROM update_summary ORDER BY update_id'),
      edges: () => rows(`SELECT u.update_id, r.revision_number, 's', e.superseded_update_id FROM revision_supersedes e JOIN revisions r ON r.id = e.revision_id JOIN updates u ON u.id = r.update_pk
                   UNION ALL SELECT u.update_id, r.revision_number, 'b', e.member_update_id FROM revision_bundles e JOIN revisions r ON r.id = e.revision_id JOIN updates u ON u.id = r.update_pk
                   ORDER BY 1, 2, 3, 4`),
      groups: () => rows('SELECT g.name, p.name AS parent FROM target_groups g LEFT JOIN target_groups p ON p.id = g.parent_id ORDER BY g.name'),
      approvals: () => rows(`SELECT u.update_id, g.name, a.action, a.deadline FROM approvals a JOIN updates u ON u.id = a.update_pk
                       JOIN target_groups g ON g.id = a.group_id ORDER BY 1, 2`),
      declined: () => rows('SELECT update_id FROM updates WHERE declined = 1 ORDER BY 1'),
      computers: () => rows('SELECT client_id, dns_name FROM computers ORDER BY client_id'),
      status,
      failures: () => rows(`SELECT f.client_id, u.update_id, f.hresult FROM computer_update_failures f JOIN updates u ON u.id = f.update_pk ORDER BY 1, 2`),
      events: () => rows('SELECT count(*), count(DISTINCT client_id), coalesce(sum(event_id), 0) FROM events'),
      eventIds: () => [createHash('sha256').update(rows('SELECT event_instance_id FROM events ORDER BY 1').join('\n')).digest('hex')],
      content: () => rows('SELECT sha1_hex, size, state, orphaned_at IS NOT NULL FROM content ORDER BY sha1_hex'),
      inbox: () => rows('SELECT count(*) FROM report_inbox'),
    };
    const out: Record<string, string[]> = {};
    for (const [k, f] of Object.entries(sections)) if (!only || only.includes(k)) out[k] = f();
    return out;
  } finally {
    db.close();
  }
}

/** Section by section, naming the first differences briefly. */
export function assertSameState(actual: Record<string, string[]>, expected: Record<string, string[]>, tag: string): void {
  for (const key of Object.keys(expected)) {
    const a = actual[key] ?? [];
    const e = expected[key]!;
    if (a.length === e.length && a.every((x, i) => x === e[i])) continue;
    const have = new Set(a);
    const want = new Set(e);
    const missing = e.filter((x) => !have.has(x)).slice(0, 3).map((s) => s.slice(0, 120));
    const extra = a.filter((x) => !want.has(x)).slice(0, 3).map((s) => s.slice(0, 120));
    assert.fail(`${tag} ${key} differs from the uninterrupted run: ${a.length} rows vs ${e.length}; missing [${missing.join(' | ')}]; unexpected [${extra.join(' | ')}]`);
  }
}
