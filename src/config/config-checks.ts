// The typed checks every config section uses: each bad value becomes one problem line naming
// its full key, so a config with several mistakes is reported in one go.

type Raw = Record<string, unknown>;

/** A nested section: `{}` when absent, a problem when it is not an object. */
export function section(raw: unknown, name: string, problems: string[]): Raw {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${name} must be an object`);
    return {};
  }
  return raw as Raw;
}

export function checker(src: Raw, prefix: string, problems: string[], known: readonly string[]) {
  for (const k of Object.keys(src)) if (!known.includes(k)) problems.push(`unknown key "${prefix}.${k}"`);
  return {
    int(k: string, def: number, min: number, max: number): number {
      const v = src[k];
      if (v === undefined) return def;
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
        problems.push(`${prefix}.${k} must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
        return def;
      }
      return n;
    },
    bool(k: string, def: boolean): boolean {
      const v = src[k];
      if (v === undefined) return def;
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      problems.push(`${prefix}.${k} must be true or false (got ${JSON.stringify(v)})`);
      return def;
    },
    oneOf<T extends string>(k: string, def: T, allowed: readonly T[]): T {
      const v = src[k];
      if (v === undefined) return def;
      if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
      problems.push(`${prefix}.${k} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
      return def;
    },
    str(k: string): string | null {
      const v = src[k];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string' || v === '') {
        problems.push(`${prefix}.${k} must be a non-empty string`);
        return null;
      }
      return v;
    },
  };
}

