import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DomainError } from '../errors.js';

// Cookies are AES-256-GCM tokens: [kind:1][serverId:16][nonce:12][ciphertext][tag:16]. The
// server id travels in clear (and is authenticated as AAD) so a cookie from another server or
// a rebuilt database is recognised as ServerChanged rather than as tampering. The plaintext is
// JSON of plain strings and numbers, validated field by field after authentication: nothing
// from a client is ever turned into an object with behaviour.

export const enum TokenKind {
  ClientCookie = 1,
  AuthorizationCookie = 2,
  /** DssAuth GetAuthorizationCookie CookieData (a downstream server) */
  DssAuthorizationCookie = 3,
  /** ServerSync GetCookie cookie (a downstream server) */
  DssSyncCookie = 4,
}

export interface ClientCookie {
  clientId: string;
  /** target group names the client asked for (client-side targeting), as sent */
  targetGroups: string;
  dnsName: string;
  issuedAt: number;
  expiresAt: number;
  protocolVersion: string;
  /** Config LastChange (epoch ms) the client handshook against */
  configLastChange: number;
  /** change sequence up to which the client has seen deployments */
  watermark: number;
}

export interface AuthorizationCookie {
  clientId: string;
  targetGroups: string;
  dnsName: string;
  issuedAt: number;
  expiresAt: number;
}

/** What DssAuth vouches for: the downstream's GUID and FQDN as it presented them. */
export interface DssAuthorizationCookie {
  dssId: string;
  fqdn: string;
  issuedAt: number;
  expiresAt: number;
}

/** A downstream server's session with this upstream. */
export interface DssSyncCookie {
  dssId: string;
  fqdn: string;
  protocolVersion: string;
  issuedAt: number;
  expiresAt: number;
}

export interface TokenKeys {
  serverId: string;
  key: Buffer;
}

const MAX_TOKEN_BYTES = 4096;

function serverIdBytes(serverId: string): Buffer {
  return Buffer.from(serverId.replace(/-/g, ''), 'hex');
}

export function sealToken(keys: TokenKeys, kind: TokenKind, payload: object): string {
  const header = Buffer.concat([Buffer.from([kind]), serverIdBytes(keys.serverId)]);
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keys.key, nonce);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
  return Buffer.concat([header, nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** Returns the authenticated JSON object or throws InvalidCookie / ServerChanged. */
export function openToken(keys: TokenKeys, kind: TokenKind, token: string, invalidCode: 'InvalidCookie' | 'InvalidAuthorizationCookie'): Record<string, unknown> {
  if (token.length > (MAX_TOKEN_BYTES * 4) / 3 + 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(token)) {
    throw new DomainError(invalidCode, '', `${invalidCode}: not a token`);
  }
  const raw = Buffer.from(token, 'base64');
  if (raw.length < 1 + 16 + 12 + 16 + 2) throw new DomainError(invalidCode, '', `${invalidCode}: too short`);
  if (raw[0] !== kind) throw new DomainError(invalidCode, '', `${invalidCode}: wrong token kind`);
  if (!raw.subarray(1, 17).equals(serverIdBytes(keys.serverId))) {
    throw new DomainError('ServerChanged', '', 'ServerChanged: token issued by another server or database');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.key, raw.subarray(17, 29));
    decipher.setAAD(raw.subarray(0, 17));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([decipher.update(raw.subarray(29, raw.length - 16)), decipher.final()]);
    const parsed: unknown = JSON.parse(plain.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new DomainError(invalidCode, '', `${invalidCode}: authentication failed`);
  }
}

/** openToken, with a token of another server reported as `code` rather than ServerChanged. */
function openForeignAs(keys: TokenKeys, kind: TokenKind, token: string, code: 'InvalidAuthorizationCookie'): Record<string, unknown> {
  try {
    return openToken(keys, kind, token, code);
  } catch (e) {
    if (e instanceof DomainError && e.code === 'ServerChanged') throw new DomainError(code, '', `${code}: issued by another server`);
    throw e;
  }
}

function str(o: Record<string, unknown>, k: string, code: 'InvalidCookie' | 'InvalidAuthorizationCookie'): string {
  const v = o[k];
  if (typeof v !== 'string') throw new DomainError(code, '', `${code}: field ${k}`);
  return v;
}

function num(o: Record<string, unknown>, k: string, code: 'InvalidCookie' | 'InvalidAuthorizationCookie'): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new DomainError(code, '', `${code}: field ${k}`);
  return v;
}

export function readClientCookie(keys: TokenKeys, token: string): ClientCookie {
  const o = openToken(keys, TokenKind.ClientCookie, token, 'InvalidCookie');
  const c = 'InvalidCookie' as const;
  return {
    clientId: str(o, 'clientId', c), targetGroups: str(o, 'targetGroups', c), dnsName: str(o, 'dnsName', c),
    issuedAt: num(o, 'issuedAt', c), expiresAt: num(o, 'expiresAt', c), protocolVersion: str(o, 'protocolVersion', c),
    configLastChange: num(o, 'configLastChange', c), watermark: num(o, 'watermark', c),
  };
}

/**
 * Any failure, including a token of another server, is InvalidAuthorizationCookie (MS-WUSP
 * GetCookie: bad authCookies): an authorization cookie lives for one handshake on the server
 * that issued it, so the client just asks for a new one; ServerChanged would send it through
 * a full re-handshake and RefreshCache for nothing.
 */
export function readAuthorizationCookie(keys: TokenKeys, token: string): AuthorizationCookie {
  const c = 'InvalidAuthorizationCookie' as const;
  const o = openForeignAs(keys, TokenKind.AuthorizationCookie, token, c);
  return {
    clientId: str(o, 'clientId', c), targetGroups: str(o, 'targetGroups', c), dnsName: str(o, 'dnsName', c),
    issuedAt: num(o, 'issuedAt', c), expiresAt: num(o, 'expiresAt', c),
  };
}

/** Any failure, including a token of another server, is InvalidAuthorizationCookie: the downstream restarts authorization. */
export function readDssAuthorizationCookie(keys: TokenKeys, token: string): DssAuthorizationCookie {
  const c = 'InvalidAuthorizationCookie' as const;
  const o = openForeignAs(keys, TokenKind.DssAuthorizationCookie, token, c);
  return { dssId: str(o, 'dssId', c), fqdn: str(o, 'fqdn', c), issuedAt: num(o, 'issuedAt', c), expiresAt: num(o, 'expiresAt', c) };
}

/** InvalidCookie when unreadable; ServerChanged when issued under another server identity. */
export function readDssSyncCookie(keys: TokenKeys, token: string): DssSyncCookie {
  const o = openToken(keys, TokenKind.DssSyncCookie, token, 'InvalidCookie');
  const c = 'InvalidCookie' as const;
  return {
    dssId: str(o, 'dssId', c), fqdn: str(o, 'fqdn', c), protocolVersion: str(o, 'protocolVersion', c),
    issuedAt: num(o, 'issuedAt', c), expiresAt: num(o, 'expiresAt', c),
  };
}
