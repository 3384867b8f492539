import { constants as cryptoConstants, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { answerClientErrors, drainServer, LISTEN_BACKLOG, type TimeoutOptions } from './listener-limits.js';

// The HTTPS listener for the SOAP services (WSUS's 8531). Content stays on plain HTTP: it is
// protected by digests and signatures, and WSUS itself serves it that way.

export interface TlsLog {
  info(message: string, meta?: object): unknown;
  warn(message: string, meta?: object): unknown;
  error(message: string, meta?: object): unknown;
  debug(message: string, meta?: object): unknown;
}

export interface TlsListenerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  log: TlsLog;
  /** how often the PEM files are polled; certificate renewals are rare, so seconds are fine */
  watchIntervalMs?: number;
  clock?: () => Date;
  /** header, request and keep-alive timeouts (default 20 s, 60 s, 30 s) */
  timeouts?: TimeoutOptions;
  /** open connections at most (default: no cap); `onDrop` hears of each one closed for it */
  maxConnections?: number;
  onDrop?: () => void;
}

export interface TlsListener {
  port: number;
  server: Server;
  /** re-reads the PEM files now (also done on change); false when the new pair was refused */
  reload(): boolean;
  /** stops accepting; open connections finish (until `deadline`, epoch ms, when given: then they are cut) */
  close(deadline?: number): Promise<void>;
}

export class TlsSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsSetupError';
  }
}

export interface CertificateInfo {
  subject: string;
  subjectCN: string | null;
  issuer: string;
  selfSigned: boolean;
  /** e.g. `DNS:wsus.corp.example`, `IP Address:10.0.0.5` */
  sans: string[];
  notBefore: string;
  notAfter: string;
  /** whole days until notAfter; negative once expired */
  daysLeft: number;
  expired: boolean;
  notYetValid: boolean;
  fingerprint256: string;
  keyType: string | null;
  keyBits: number | null;
  /** extended key usages, or null when the certificate does not restrict them */
  extendedKeyUsage: string[] | null;
}

const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/** What a `health` command or a log line needs to know about a certificate (first one of a PEM chain). */
export function describeCertificate(pem: string | Buffer, now: Date = new Date()): CertificateInfo {
  const x = new X509Certificate(pem);
  const notBefore = new Date(x.validFrom);
  const notAfter = new Date(x.validTo);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? null;
  const details = x.publicKey.asymmetricKeyDetails;
  return {
    subject: x.subject.replace(/\n/g, ', '),
    subjectCN: cn,
    issuer: x.issuer.replace(/\n/g, ', '),
    // checkIssued() would also demand keyCertSign, which an end-entity certificate rightly lacks.
    selfSigned: x.subject === x.issuer && x.verify(x.publicKey),
    sans: x.subjectAltName ? x.subjectAltName.split(/,\s*/).filter(Boolean) : [],
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    expired: now.getTime() > notAfter.getTime(),
    notYetValid: now.getTime() < notBefore.getTime(),
    fingerprint256: x.fingerprint256,
    keyType: x.publicKey.asymmetricKeyType ?? null,
    keyBits: details?.modulusLength ?? (details?.namedCurve ? curveBits(details.namedCurve) : null),
    extendedKeyUsage: x.keyUsage ?? null,
  };
}

function curveBits(curve: string): number | null {
  const m = /(\d{3})/.exec(curve);
  return m ? Number(m[1]) : null;
}

// Mozilla "intermediate": AEAD suites with forward secrecy only. DHE-RSA-GCM is kept because
// it is what Windows 7 / 2008 R2 (KB2992611) can negotiate; TLS 1.3 uses OpenSSL's defaults.
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384',
].join(':');

/** Everything the secure context needs; setSecureContext replaces all of it, so one builder serves both. */
export function secureContextOptions(cert: Buffer, key: Buffer): SecureContextOptions {
  return {
    cert,
    key,
    minVersion: 'TLSv1.2',
    ciphers: TLS12_CIPHERS,
    honorCipherOrder: true,
    dhparam: 'auto',
    secureOptions: cryptoConstants.SSL_OP_NO_COMPRESSION | cryptoConstants.SSL_OP_NO_RENEGOTIATION,
  };
}

export interface LoadedPair {
  cert: Buffer;
  key: Buffer;
  info: CertificateInfo;
  warnings: string[];
}

function readPem(file: string, what: string, configKey: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TlsSetupError(`${what} file not found: ${file} (${configKey})`);
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TlsSetupError(`${what} file is not readable by this process (uid ${process.getuid?.() ?? '?'}): ${file} (${configKey})`);
    }
    if (code === 'EISDIR') throw new TlsSetupError(`${what} path is a directory, not a PEM file: ${file} (${configKey})`);
    throw new TlsSetupError(`cannot read ${what} file ${file} (${configKey}): ${(e as Error).message}`);
  }
}

/** Reads and cross-checks a certificate/key pair; throws TlsSetupError with the reason an admin can act on. */
export function loadKeyPair(certFile: string, keyFile: string, now: Date = new Date()): LoadedPair {
  const cert = readPem(certFile, 'TLS certificate', 'tlsCert');
  const key = readPem(keyFile, 'TLS private key', 'tlsKey');
  if (!cert.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsSetupError(`${certFile} is not a PEM certificate (expected "-----BEGIN CERTIFICATE-----"; convert DER or PFX with openssl)`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw new TlsSetupError(`${certFile}: the certificate cannot be parsed: ${(e as Error).message}`);
  }
  // There is no passphrase setting: an unattended service would have to store it beside the key anyway.
  if (key.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || key.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new TlsSetupError(`${keyFile}: the private key is encrypted; store it unencrypted with mode 0600 (openssl pkey -in ENCRYPTED.pem -out ${keyFile})`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(key);
  } catch (e) {
    throw new TlsSetupError(`${keyFile} is not a PEM private key: ${(e as Error).message}`);
  }
  if (!x509.checkPrivateKey(keyObject)) {
    throw new TlsSetupError(`the private key ${keyFile} does not match the certificate ${certFile} (subject ${x509.subject.replace(/\n/g, ', ')})`);
  }
  // Catches what the checks above cannot, e.g. a key OpenSSL refuses at its security level.
  try {
    createSecureContext(secureContextOptions(cert, key));
  } catch (e) {
    throw new TlsSetupError(`OpenSSL refuses the pair ${certFile} / ${keyFile}: ${(e as Error).message}`);
  }
  const info = describeCertificate(cert, now);
  return { cert, key, info, warnings: certificateWarnings(info) };
}

/** Problems that do not stop the listener but will stop clients (reported, not fatal). */
export function certificateWarnings(info: CertificateInfo): string[] {
  const w: string[] = [];
  if (info.expired) w.push(`the TLS certificate expired on ${info.notAfter}: clients will refuse it`);
  else if (info.notYetValid) w.push(`the TLS certificate is not valid before ${info.notBefore}: clients will refuse it until then (check the clock)`);
  else if (info.daysLeft < 30) w.push(`the TLS certificate expires in ${info.daysLeft} days (${info.notAfter})`);
  if (!info.sans.length) w.push('the TLS certificate has no subject alternative names: clients match WUServer\'s host against them');
  if (info.extendedKeyUsage && !info.extendedKeyUsage.includes(SERVER_AUTH_OID)) w.push('the TLS certificate is not valid for server authentication (no serverAuth extended key usage)');
  if (info.keyType === 'rsa' && info.keyBits !== null && info.keyBits < 2048) w.push(`the TLS key is RSA ${info.keyBits}: use 2048 bits or more`);
  return w;
}

function summary(info: CertificateInfo): Record<string, unknown> {
  return { subject: info.subject, sans: info.sans, notAfter: info.notAfter, daysLeft: info.daysLeft, fingerprint256: info.fingerprint256 };
}

export async function startTlsListener(opts: TlsListenerOptions): Promise<TlsListener> {
  const { log, certFile, keyFile } = opts;
  const clock = opts.clock ?? (() => new Date());
  const interval = opts.watchIntervalMs ?? 5000;
  let current = loadKeyPair(certFile, keyFile, clock());

  const server = createServer({
    ...secureContextOptions(current.cert, current.key),
    // Windows Update fails with 0x80072F0C when a server asks for a client certificate.
    requestCert: false,
    rejectUnauthorized: false,
    handshakeTimeout: 20_000,
    ...(opts.timeouts ?? { keepAliveTimeout: 30_000, requestTimeout: 60_000, headersTimeout: 20_000 }),
  }, opts.handler);
  server.maxHeadersCount = 100;
  if (opts.maxConnections) server.maxConnections = opts.maxConnections;
  if (opts.onDrop) server.on('drop', opts.onDrop);
  answerClientErrors(server, opts.log);
  // Scanners and misconfigured clients fail handshakes all day; one line each at debug is enough.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket) => {
    log.debug('TLS handshake failed', { remote: socket.remoteAddress, error: err.code ?? err.message });
  });

  const reload = (): boolean => {
    let next: LoadedPair;
    try {
      next = loadKeyPair(certFile, keyFile, clock());
    } catch (e) {
      log.error('TLS certificate reload refused; still serving the previous certificate', { error: (e as Error).message, ...summary(current.info) });
      return false;
    }
    if (next.info.fingerprint256 === current.info.fingerprint256 && next.key.equals(current.key)) return true;
    try {
      // The ticket keys carry over so sessions resumed across a renewal stay cheap.
      server.setSecureContext({ ...secureContextOptions(next.cert, next.key), ticketKeys: server.getTicketKeys() });
    } catch (e) {
      log.error('TLS certificate reload refused; still serving the previous certificate', { error: (e as Error).message, ...summary(current.info) });
      return false;
    }
    current = next;
    log.info('TLS certificate reloaded', summary(next.info));
    for (const w of next.warnings) log.warn(w, { certFile });
    return true;
  };

  // Renewal tools write the two files one after the other; waiting one more interval after the
  // last change avoids reading a new certificate with the old key and logging a false alarm.
  let pending: NodeJS.Timeout | null = null;
  const onChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (pending) clearTimeout(pending);
    pending = setTimeout(() => {
      pending = null;
      reload();
    }, interval);
    pending.unref();
  };
  watchFile(certFile, { interval, persistent: false }, onChange);
  watchFile(keyFile, { interval, persistent: false }, onChange);
  // A certificate nobody renews expires silently while the process runs; say so daily.
  const daily = setInterval(() => {
    for (const w of certificateWarnings(describeCertificate(current.cert, clock()))) log.warn(w, { certFile });
  }, 86_400_000);
  daily.unref();
  const unwatch = (): void => {
    unwatchFile(certFile, onChange);
    unwatchFile(keyFile, onChange);
    if (pending) clearTimeout(pending);
    clearInterval(daily);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, LISTEN_BACKLOG, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    unwatch();
    throw e;
  }
  // An unhandled 'error' on a listening server would end the process.
  server.on('error', (e) => log.error('HTTPS listener error', { error: e.message }));
  const port = (server.address() as AddressInfo).port;
  log.info('HTTPS listener started', { port, host: opts.host, ...summary(current.info) });
  for (const w of current.warnings) log.warn(w, { certFile });

  return {
    port,
    server,
    reload,
    async close(deadline = Infinity) {
      unwatch();
      await drainServer(server, deadline);
    },
  };
}
