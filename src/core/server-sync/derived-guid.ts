import { createHash } from 'node:crypto';

// GUIDs this server derives instead of storing: name-based (RFC 4122 version 5, SHA-1) under
// the server's own id, so they are stable for the life of the database and change when the
// database is rebuilt (a new server id), which is exactly when downstreams must forget them.

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function derivedGuid(namespaceGuid: string, name: string): string {
  if (!GUID_RE.test(namespaceGuid)) throw new RangeError(`not a GUID: ${namespaceGuid}`);
  const h = createHash('sha1').update(Buffer.from(namespaceGuid.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The DeploymentGuid downstreams see for one of our approvals (deployment ids are never reused). */
export function deploymentGuid(serverId: string, deploymentId: number): string {
  return derivedGuid(serverId, `deployment:${deploymentId}`);
}

/** GetRollupConfiguration RollupResetGuid: a new value tells downstreams to roll everything up again. */
export function rollupResetGuid(serverId: string): string {
  return derivedGuid(serverId, 'rollup-reset');
}
