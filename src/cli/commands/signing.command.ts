import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, resolve } from 'node:path';
import { flag, intFlag, parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { createSelfSignedCertificate } from './cert.command.js';
import {
  assertNoPublishingPair, loadPublishingCert, pairFromPem, pairFromPfx, parseSubject, savePublishingPair, validatePublishingPair,
  type PublishingCertInfo,
} from '../../services/signing/publishing-cert.js';
import { addTrustedPublisher, loadTrustAnchors, removeTrustedPublisher, type TrustSource } from '../../services/signing/trust-store.js';

export const signingHelp = `wsus signing create [--subject "CN=NAME, O=ORG"] [--days N] [--bits 3072|4096] [--force]
wsus signing import FILE.pfx|FILE.pem [--password P] [--force]
wsus signing show [--json]
wsus signing export-cert --out FILE
  The publishing (Authenticode code-signing) certificate for updates you publish, kept in
  DATA/signing/cert.pem and DATA/signing/key.pem (mode 0600). create makes a self-signed RSA
  3072 (or 4096) / SHA-256 code-signing certificate (default 1095 days); import takes a PFX or a
  PEM holding certificate and key (password from --password or $WSUS_SIGNING_PASSWORD). Refused:
  RSA under 3072 bits, no code signing extended key usage, expired or not yet valid, key not
  matching, wrong password, and replacing an existing certificate without --force.
  show prints subject, SHA-1 thumbprint, validity and key size. export-cert writes the public
  certificate (FILE as PEM, FILE.cer as DER) and the client policy: Trusted Publishers and
  Trusted Root stores, and AcceptTrustedPublisherCerts=1.
wsus signing trust add FILE [--data DIR]
wsus signing trust list [--json] [--data DIR]
wsus signing trust remove THUMBPRINT [--data DIR]
  The certificates content signatures are checked against (config contentSignatures): the
  bundled Microsoft code-signing roots, this server's publishing certificate, and publishers
  you add (DATA/signing/trusted/THUMBPRINT.pem). add takes one certificate (PEM or DER: a
  root/CA or the publisher's own certificate); refused: private keys, files that are not a
  certificate, several certificates at once, one already trusted. A running server picks the
  change up with the next file it ingests.`;

const dataDir = (args: ParsedArgs): string => resolve(flag(args, 'data') ?? process.env.WSUS_DATA ?? './data');

function describeLines(info: PublishingCertInfo): string {
  return `subject:     ${info.subject}
issuer:      ${info.selfSigned ? 'self-signed' : info.issuer}
thumbprint:  ${info.thumbprint} (SHA-1)
SHA-256:     ${info.sha256}
valid:       ${info.notBefore} to ${info.notAfter}${info.expired ? '  EXPIRED' : ''}
key:         RSA ${info.keyBits} bits
`;
}

function noPositional(positional: string[]): void {
  if (positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
}

async function create(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'subject', 'days', 'bits'], ['force']);
  noPositional(args.positional);
  const bitsRaw = flag(args, 'bits') ?? '3072';
  if (bitsRaw !== '3072' && bitsRaw !== '4096') throw new UsageError('--bits must be 3072 or 4096');
  const days = intFlag(args, 'days', 1, 3650) ?? 1095;
  const subject = parseSubject(flag(args, 'subject') ?? `CN=wsus-ts publisher (${hostname()}), O=wsus-ts publishing (self-signed)`);
  const dir = dataDir(args);
  // The existence check before the (slow) key generation; save checks again.
  const force = args.flags.get('force') === true;
  if (!force) assertNoPublishingPair(dir);
  const made = createSelfSignedCertificate({
    hosts: [subject.find((a) => a.shortName === 'CN')!.value], days, keyBits: Number(bitsRaw), purpose: 'codeSigning', subject,
  });
  const pair = validatePublishingPair(made.certPem, createPrivateKey(made.keyPem));
  const paths = savePublishingPair(dir, pair, force);
  process.stdout.write(`wrote ${paths.certFile} (publishing certificate)
      ${paths.keyFile} (private key, mode 0600: keep it on this server)
${describeLines(pair.info)}Next: wsus signing export-cert --out FILE, and apply the client policy it prints.
`);
  return 0;
}

async function importCmd(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'password'], ['force']);
  if (args.positional.length !== 1) throw new UsageError('usage: wsus signing import FILE.pfx|FILE.pem [--password P] [--force]');
  const file = resolve(args.positional[0]!);
  const password = flag(args, 'password') ?? process.env.WSUS_SIGNING_PASSWORD;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  const isPem = bytes.subarray(0, 4096).toString('latin1').includes('-----BEGIN ');
  const pair = isPem ? pairFromPem(bytes.toString('utf8'), password) : pairFromPfx(bytes, password);
  const paths = savePublishingPair(dataDir(args), pair, args.flags.get('force') === true);
  process.stdout.write(`imported ${basename(file)} into ${paths.certFile} and ${paths.keyFile} (mode 0600)
${describeLines(pair.info)}`);
  return 0;
}

async function show(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data'], ['json']);
  noPositional(args.positional);
  const { info, paths } = loadPublishingCert(dataDir(args));
  if (args.flags.get('json') === true) {
    process.stdout.write(`${JSON.stringify({ ...info, certFile: paths.certFile, keyFile: paths.keyFile }, null, 2)}\n`);
  } else {
    process.stdout.write(describeLines(info));
  }
  return 0;
}

export function clientPolicy(cerName: string): string {
  const key = 'HKLM\\Software\\Policies\\Microsoft\\Windows\\WindowsUpdate';
  return `Client policy (every computer that installs updates published by this server):
1. Import the certificate into the local computer's Trusted Publishers store and, because it is
   self-signed, also into Trusted Root Certification Authorities:
     certutil -addstore TrustedPublisher ${cerName}
     certutil -addstore Root ${cerName}
   Group Policy: Computer Configuration > Policies > Windows Settings > Security Settings >
   Public Key Policies > Trusted Publishers, and > Trusted Root Certification Authorities > Import...
2. Accept updates signed by trusted publishers from the intranet server:
     ${key}
       AcceptTrustedPublisherCerts = 1 (REG_DWORD)
     reg add "${key}" /v AcceptTrustedPublisherCerts /t REG_DWORD /d 1 /f
   Group Policy: Computer Configuration > Administrative Templates > Windows Components >
   Windows Update > "Allow signed updates from an intranet Microsoft update service location" = Enabled.
`;
}

async function exportCert(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'out'], []);
  noPositional(args.positional);
  const out = flag(args, 'out');
  if (!out) throw new UsageError('signing export-cert needs --out FILE');
  const { certPem, der, info } = loadPublishingCert(dataDir(args));
  const target = resolve(out);
  const pemFile = /\.cer$/i.test(target) ? target.replace(/\.cer$/i, '.pem') : target;
  const cerFile = /\.cer$/i.test(target) ? target : `${target.replace(/\.(pem|crt)$/i, '')}.cer`;
  try {
    writeFileSync(pemFile, certPem, { mode: 0o644 });
    writeFileSync(cerFile, der, { mode: 0o644 });
  } catch (e) {
    throw new UsageError(`cannot write ${pemFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  process.stdout.write(`wrote ${pemFile} (PEM)
      ${cerFile} (DER, for certutil and Group Policy)
certificate: ${info.subject}; thumbprint ${info.thumbprint}; expires ${info.notAfter}

${clientPolicy(basename(cerFile))}`);
  return 0;
}

function trustLine(t: TrustSource): string {
  return `${t.origin.padEnd(10)}  ${t.thumbprintSha1}  ${t.notAfter.slice(0, 10)}${t.expired ? ' EXPIRED' : '        '}  ${t.name}`;
}

async function trust(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'add': {
      const args = parseArgs(rest, ['data'], []);
      if (args.positional.length !== 1) throw new UsageError('usage: wsus signing trust add FILE [--data DIR]');
      const file = resolve(args.positional[0]!);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const added = addTrustedPublisher(dataDir(args), bytes);
      process.stdout.write(`trusted ${added.name}
thumbprint:  ${added.thumbprintSha1} (SHA-1)
expires:     ${added.notAfter}${added.expired ? '  EXPIRED: signatures made after this date do not verify' : ''}
stored in:   ${added.file}
`);
      return 0;
    }
    case 'list': {
      const args = parseArgs(rest, ['data'], ['json']);
      noPositional(args.positional);
      const t = loadTrustAnchors(dataDir(args));
      if (args.flags.get('json') === true) {
        process.stdout.write(`${JSON.stringify({ anchors: t.sources, problems: t.problems }, null, 2)}
`);
      } else {
        process.stdout.write(`${'ORIGIN'.padEnd(10)}  ${'THUMBPRINT (SHA-1)'.padEnd(40)}  EXPIRES            SUBJECT
`);
        for (const s of t.sources) process.stdout.write(`${trustLine(s)}
`);
        for (const p of t.problems) process.stderr.write(`left out: ${p}
`);
      }
      return 0;
    }
    case 'remove': {
      const args = parseArgs(rest, ['data'], []);
      if (args.positional.length !== 1) throw new UsageError('usage: wsus signing trust remove THUMBPRINT [--data DIR]');
      const removed = removeTrustedPublisher(dataDir(args), args.positional[0]!);
      process.stdout.write(`no longer trusted: ${removed.name} (${removed.thumbprintSha1})
`);
      return 0;
    }
    default: throw new UsageError('usage: wsus signing trust add FILE | list [--json] | remove THUMBPRINT');
  }
}

export async function signingCommand(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'create': return create(rest);
    case 'import': return importCmd(rest);
    case 'show': return show(rest);
    case 'export-cert': return exportCert(rest);
    case 'trust': return trust(rest);
    default: throw new UsageError('usage: wsus signing create|import|show|export-cert|trust (see wsus help)');
  }
}
