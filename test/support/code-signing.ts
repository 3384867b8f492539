// Shared pieces of the Authenticode file tests (PE, MSI, CAB): seeded
// pseudo-random bytes, damaged copies of a signed file, and the checks that
// every damaged copy is refused with a reason (or at least without throwing).

import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import type { AuthenticodeSigner } from '../../src/protocol/authenticode/signed-data.js';
import { verifyFileSignature, type FileSignatureCheck, type SignableKind } from '../../src/protocol/authenticode/verify-file.js';
import { osslVerify, writeFixture, type TestSigningPki } from './pe-fixture.js';

/** The tests' linear congruential generator: each call returns the next 32-bit state. */
export function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) >>> 0);
}

/** `size` bytes, each the top byte of the next lcg(seed) state: deterministic and poorly compressible. */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  const next = lcg(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = next() >>> 24;
  return out;
}

/** A copy of `good` changed by `edit`, for tables of damaged files. */
export function damaged(good: Buffer, edit: (copy: Buffer) => void): Buffer {
  const copy = Buffer.from(good);
  edit(copy);
  return copy;
}

/**
 * `rounds` copies of `good`, each with 1 to 4 bytes overwritten at seeded
 * positions below `span(round)` (the whole file unless told).
 */
export function* randomlyDamaged(good: Buffer, seed: number, rounds: number, span = (_round: number): number => good.length): Generator<Buffer> {
  const next = lcg(seed);
  for (let i = 0; i < rounds; i++) {
    const bytes = Buffer.from(good);
    for (let n = 1 + (next() % 4); n > 0; n--) bytes[next() % span(i)] = next() & 0xff;
    yield bytes;
  }
}

/** Writes each case to `dir/fileName` and asserts verifyFileSignature reports it malformed (not throwing). */
export async function assertEachMalformed(
  dir: string,
  fileName: string,
  cases: Record<string, Buffer>,
  trust: readonly X509Certificate[],
  at: Date,
): Promise<void> {
  for (const [label, bytes] of Object.entries(cases)) {
    const result = await verifyFileSignature(writeFixture(dir, fileName, bytes), trust, at);
    assert.equal(result?.ok === false && result.reason, 'malformed', `${label}: ${JSON.stringify(result)}`);
  }
}

/** Writes `bytes` to `dir/fileName` and checks it is of no signable kind or of `kind` (verdict aside); never throws. */
export async function assertKindOrNull(
  dir: string,
  fileName: string,
  bytes: Buffer,
  kind: SignableKind,
  trust: readonly X509Certificate[],
  at: Date,
): Promise<void> {
  const result = await verifyFileSignature(writeFixture(dir, fileName, bytes), trust, at);
  assert.ok(result === null || result.kind === kind);
}

/** For each named signed file: our verdict against the PKI's root at `at` (judged by `check`), then osslsigncode verify must accept it. */
export async function assertAcceptedAsOsslsigncodeDoes(
  signed: Record<string, string>,
  pki: TestSigningPki,
  at: Date,
  check: (name: string, result: FileSignatureCheck | null) => void,
): Promise<void> {
  for (const [name, path] of Object.entries(signed)) {
    check(name, await verifyFileSignature(path, [pki.root], at));
    const ossl = osslVerify(path, pki.rootPath);
    assert.ok(ossl.ok, `osslsigncode rejects ${name}:\n${ossl.output}`);
  }
}

/** The test PKI's leaf as an in-process signer (signCabinet and friends). */
export function pkiSigner(pki: TestSigningPki): AuthenticodeSigner {
  return {
    certificate: forge.pki.certificateFromPem(readFileSync(pki.certPath, 'utf8')),
    privateKey: forge.pki.privateKeyFromPem(readFileSync(pki.keyPath, 'utf8')) as forge.pki.rsa.PrivateKey,
  };
}
