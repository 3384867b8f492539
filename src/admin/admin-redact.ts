// What the audit log keeps of a request body: everything except secrets. A field whose name
// looks like a secret (password, token, secret, private key, …, also as a dotted config key
// such as `sync.proxy.password`) and any string that looks like one of our tokens are replaced.

const SECRET_NAME = /(password|passphrase|passwd|secret|token|credential|private[-_.]?key|api[-_.]?key|authorization|cookie)/i;
const TOKEN_VALUE = /wsus_[A-Za-z0-9_-]{20,}/g;
const MAX_AUDIT_JSON = 64 * 1024;
export const REDACTED = '[redacted]';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 32) return '[too deep]';
  if (typeof value === 'string') return value.replace(TOKEN_VALUE, REDACTED);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = isSecretName(k) && v !== null && v !== undefined ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

/** Redacted, and bounded so a bulk request cannot bloat the audit table. */
export function auditBody(value: unknown): unknown {
  const r = redact(value);
  const json = JSON.stringify(r) ?? '{}';
  if (json.length <= MAX_AUDIT_JSON) return r;
  return { truncated: true, bytes: json.length, preview: json.slice(0, 4096) };
}
