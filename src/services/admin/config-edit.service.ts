import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig, validate, type ServerConfig } from '../../config/config.js';
import { DomainError } from '../../core/errors.js';
import { isSecretName, REDACTED } from '../../admin/admin-redact.js';

// `wsus config get|set`: reads and edits DIR/config.json by dotted key (`sync.upstream`,
// `admin.port`). A change is validated as a whole config before anything is written (every
// problem listed, nothing written on failure), then written atomically (temp file, fsync,
// rename). The running server keeps the config it started with — except `logLevel`, which is
// cheap and safe to apply at once; every other changed key is reported as needing a restart.

type Raw = Record<string, unknown>;

/** Applied to the running server when set; everything else takes effect at the next start. */
export const LIVE_KEYS = ['logLevel'] as const;
const KEY_RE = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/;
/** derived from the data directory, not settable in config.json */
const NOT_SETTABLE = ['dataDir'];

export interface ConfigChange {
  key: string;
  old: unknown;
  new: unknown;
}

export interface ConfigSetResult {
  file: string;
  changed: ConfigChange[];
  /** keys that take effect when the server restarts */
  restartRequired: string[];
  /** keys applied to the running server now */
  appliedLive: string[];
}

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export function getPath(o: unknown, key: string): unknown {
  let cur: unknown = o;
  for (const part of key.split('.')) {
    if (!isObject(cur) || !(part in cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** Sets (or with `undefined` deletes) a dotted key, creating objects on the way; empty parents are removed. */
export function setPath(o: Raw, key: string, value: unknown): void {
  const parts = key.split('.');
  const chain: Raw[] = [o];
  let cur = o;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === undefined || next === null) {
      if (value === undefined) return;
      cur[part] = {};
    } else if (!isObject(next)) {
      throw new DomainError('InvalidInput', key, `${key}: ${parts.slice(0, chain.length).join('.')} is not an object (it is ${JSON.stringify(next)})`);
    }
    cur = cur[part] as Raw;
    chain.push(cur);
  }
  const last = parts[parts.length - 1]!;
  if (value === undefined) {
    delete cur[last];
    for (let i = chain.length - 1; i > 0; i--) {
      if (Object.keys(chain[i]!).length) break;
      delete chain[i - 1]![parts[i - 1]!];
    }
  } else {
    cur[last] = value;
  }
}

/** Leaves of a config object as dotted keys (arrays are values). */
export function flatten(o: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!isObject(o)) {
    out.set(prefix, o);
    return out;
  }
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObject(v) && Object.keys(v).length) for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
    else out.set(key, v);
  }
  return out;
}

/** A copy with every secret-looking leaf replaced (proxy password, …). */
export function redactConfig(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => redactConfig(x, key));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactConfig(x, key ? `${key}.${k}` : k)]));
  const last = key.split('.').pop() ?? '';
  return v !== null && v !== undefined && isSecretName(last) ? REDACTED : v;
}

export interface ConfigEditorDeps {
  /** the configuration the server runs with */
  running: ServerConfig;
  env?: NodeJS.ProcessEnv;
  /** called for LIVE_KEYS after a successful write */
  applyLive?: (key: (typeof LIVE_KEYS)[number], config: ServerConfig) => void;
}

export function createConfigEditor(deps: ConfigEditorDeps) {
  const dataDir = deps.running.dataDir;
  const env = deps.env ?? process.env;
  const file = join(dataDir, 'config.json');

  function readRaw(): Raw {
    if (!existsSync(file)) return {};
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new DomainError('InvalidInput', file, `${file} is not valid JSON (${(e as Error).message}): fix it by hand first`);
    }
    if (!isObject(v)) throw new DomainError('InvalidInput', file, `${file} must hold a JSON object`);
    return v;
  }

  /** What the server would start with now (file + environment), or the problems that would stop it. */
  function saved(): ServerConfig {
    try {
      return loadConfig({ dataDir }, env);
    } catch (e) {
      if (e instanceof ConfigError) throw new DomainError('InvalidInput', 'config', e.message);
      throw e;
    }
  }

  function writeAtomically(text: string): void {
    const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o600;
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    const fd = openSync(tmp, 'wx', mode);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(tmp, file);
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
      throw e;
    }
  }

  return {
    file,
    /** the whole effective config (or one key of it), secrets redacted, with what differs from the running server */
    get(key?: string): { file: string; key: string | null; value: unknown; running: unknown; restartPending: string[] } {
      const cfg = saved();
      const view = { ...cfg } as Raw;
      let value: unknown = view;
      let running: unknown = deps.running;
      if (key !== undefined) {
        if (!KEY_RE.test(key)) throw new DomainError('InvalidInput', 'key', `"${key}" is not a config key (dotted names like sync.upstream)`);
        value = getPath(view, key);
        running = getPath(deps.running, key);
        if (value === undefined) throw new DomainError('NotFound', key, `config key "${key}" not found (wsus config get lists them)`);
      }
      const now = flatten(redactConfig(value, key ?? ''), key ?? '');
      const run = flatten(redactConfig(running, key ?? ''), key ?? '');
      const restartPending = [...now].filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(run.get(k))).map(([k]) => k)
        .filter((k) => !(LIVE_KEYS as readonly string[]).includes(k));
      return { file, key: key ?? null, value: redactConfig(value, key ?? ''), running: redactConfig(running, key ?? ''), restartPending };
    },
    /** `values`: dotted key → JSON value (`null` removes the key: back to its default) */
    set(values: Record<string, unknown>): ConfigSetResult {
      const keys = Object.keys(values);
      if (!keys.length) throw new DomainError('InvalidInput', 'values', 'nothing to set');
      const problems: string[] = [];
      for (const k of keys) {
        if (!KEY_RE.test(k)) problems.push(`"${k}" is not a config key (dotted names like sync.upstream)`);
        else if (NOT_SETTABLE.includes(k.split('.')[0]!)) problems.push(`${k} cannot be set in config.json (it is the directory config.json lives in)`);
      }
      if (problems.length) throw new DomainError('InvalidInput', 'values', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
      const before = readRaw();
      const after = structuredClone(before);
      for (const k of keys) setPath(after, k, values[k] === null ? undefined : values[k]);
      let next: ServerConfig;
      try {
        next = validate(structuredClone(after), dataDir, env);
      } catch (e) {
        if (e instanceof ConfigError) throw new DomainError('InvalidInput', 'config', `${e.message}\n(nothing was written)`);
        throw e;
      }
      const changed = keys
        .map((k) => ({ key: k, old: getPath(before, k), new: getPath(after, k) }))
        .filter((c) => JSON.stringify(c.old) !== JSON.stringify(c.new));
      if (changed.length) writeAtomically(`${JSON.stringify(after, null, 2)}\n`);
      const appliedLive: string[] = [];
      const restartRequired: string[] = [];
      for (const c of changed) {
        const live = (LIVE_KEYS as readonly string[]).find((l) => l === c.key);
        if (live && deps.applyLive) {
          deps.applyLive(live as (typeof LIVE_KEYS)[number], next);
          appliedLive.push(c.key);
        } else {
          restartRequired.push(c.key);
        }
      }
      return {
        file,
        changed: changed.map((c) => ({ key: c.key, old: redactConfig(c.old, c.key), new: redactConfig(c.new, c.key) })),
        restartRequired, appliedLive,
      };
    },
  };
}

export type ConfigEditor = ReturnType<typeof createConfigEditor>;
