// What publishing and signature checks cost, side by side with independent tools on the same
// bytes: our streaming MSZIP cabinet writer against gcab, our Authenticode check of the signed
// cabinet against sha256sum (the floor: one pass over the file) and osslsigncode verify, and the
// whole `publish` pipeline pieces. Medians of --rounds runs; ratios are ours / theirs.
//   npm run bench:signing -- --mb 256 --rounds 3

import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signCabinetFile, writeSignableCabinetFile } from '../src/protocol/cab/signable-cabinet-file.js';
import { verifyFileSignature } from '../src/protocol/authenticode/verify-file.js';
import { loadPublishingCert, loadPublishingSigner } from '../src/services/signing/publishing-cert.js';
import { projectRoot } from '../src/paths.js';
import { argNumber } from './support/knobs.js';
import { table, ms } from './support/stats.js';

const SIZE_MB = argNumber('mb', 256);
const ROUNDS = argNumber('rounds', 3);
const dir = mkdtempSync(join(tmpdir(), 'bench-signing-'));
const has = (tool: string): boolean => spawnSync(tool, ['--version']).error === undefined;

/** Half random, half repetitive text: installers compress, but not like zeros. */
function writePayload(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const text = Buffer.from('MZ Contoso Agent setup payload; resource strings and tables follow. '.repeat(16_000)).subarray(0, 1 << 20);
  for (let done = 0, i = 0; done < bytes; i++) {
    const chunk = i % 2 === 0 ? randomBytes(1 << 20) : text;
    const n = Math.min(chunk.length, bytes - done);
    writeSync(fd, chunk, 0, n);
    done += n;
  }
  closeSync(fd);
}

async function time(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function median(fn: () => unknown): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) runs.push(await time(fn));
  return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
}

function tool(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr?.toString() ?? r.error}`);
}

async function main(): Promise<void> {
  const payload = join(dir, 'setup.exe');
  writePayload(payload, SIZE_MB << 20);
  // The publishing certificate exactly as `wsus signing create` makes it.
  tool(process.execPath, [join(projectRoot, 'dist/src/cli/main.js'), 'signing', 'create', '--data', dir]);
  const signer = loadPublishingSigner(dir);
  const { certPem } = loadPublishingCert(dir);
  const trust = [new X509Certificate(certPem)];
  const certFile = join(dir, 'cert.pem');
  writeFileSync(certFile, certPem);

  const cab = join(dir, 'ours.cab');
  const rows: string[][] = [['step', `ours (${SIZE_MB} MB payload)`, 'independent tool', 'ratio']];
  const write = await median(async () => {
    rmSync(cab, { force: true });
    await writeSignableCabinetFile([{ name: 'setup.exe', path: payload }], cab);
  });
  let gcab = NaN;
  if (has('gcab')) gcab = await median(() => tool('gcab', ['-c', '-z', '-n', join(dir, 'gcab.cab'), payload]));
  rows.push(['MSZIP cabinet', ms(write), Number.isFinite(gcab) ? `${ms(gcab)} gcab -z` : 'gcab absent', (write / gcab).toFixed(2)]);

  const sign = await median(async () => {
    await signCabinetFile(cab, signer);
  });
  let sha = NaN;
  if (has('sha256sum')) sha = await median(() => tool('sha256sum', [cab]));
  rows.push(['sign (streamed digest)', ms(sign), Number.isFinite(sha) ? `${ms(sha)} sha256sum` : '', (sign / sha).toFixed(2)]);

  const verify = await median(async () => {
    const r = await verifyFileSignature(cab, trust, new Date());
    if (!r?.ok) throw new Error(`bench cabinet did not verify: ${JSON.stringify(r)}`);
  });
  rows.push(['verify (ingest check)', ms(verify), Number.isFinite(sha) ? `${ms(sha)} sha256sum` : '', (verify / sha).toFixed(2)]);
  let oss = NaN;
  if (has('osslsigncode')) oss = await median(() => tool('osslsigncode', ['verify', '-in', cab, '-CAfile', certFile]));
  rows.push(['verify', ms(verify), Number.isFinite(oss) ? `${ms(oss)} osslsigncode verify` : 'osslsigncode absent', (verify / oss).toFixed(2)]);

  const rss = process.memoryUsage().rss;
  console.log(table(rows));
  console.log(`cabinet ${(statSync(cab).size / 1048576).toFixed(1)} MB; peak-ish RSS of this process ${(rss / 1048576).toFixed(0)} MB (bounded: the payload is never held whole)`);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
