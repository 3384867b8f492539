// Authenticode on Windows Installer packages and the MSI property reader:
// packages built with wixl/msibuild and signed by osslsigncode (with and
// without the MsiDigitalSignatureEx pre-hash) verify exactly when osslsigncode
// verify accepts them; damage maps to a reason; properties read back as built.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyFileSignature } from '../src/protocol/authenticode/verify-file.js';
import { openCompoundFile } from '../src/protocol/msi/compound-file.js';
import { decodeStreamName } from '../src/protocol/msi/msi-database.js';
import { MsiFormatError, readMsiProperties } from '../src/protocol/msi/msi-properties.js';
import { PositionedReader } from '../src/protocol/msi/positioned-reader.js';
import {
  assertAcceptedAsOsslsigncodeDoes,
  assertEachMalformed,
  assertKindOrNull,
  damaged,
  randomlyDamaged,
} from './support/code-signing.js';
import { HAS_MSIBUILD, HAS_WIXL, buildMsi, buildPatchLike } from './support/msi-fixture.js';
import {
  HAS_OSSLSIGNCODE,
  createSigningPki,
  osslSign,
  osslVerify,
  writeFixture,
  type TestSigningPki,
} from './support/pe-fixture.js';

const NOW = new Date();
const PRODUCT = {
  productCode: '{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}',
  upgradeCode: '{11112222-3333-4444-5555-666677778888}',
  version: '2.5.17',
  name: 'WSUS-TS Test Product',
  manufacturer: 'WSUS-TS Test Vendor',
};
const PATCH = {
  patchCode: '{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}',
  obsoletes: ['{99999999-8888-7777-6666-555555555555}'],
  targetProductCodes: [PRODUCT.productCode, '{22222222-3333-4444-5555-666666666666}'],
  displayName: 'Test hotfix 1',
};

const missing = [!HAS_WIXL && 'wixl', !HAS_MSIBUILD && 'msibuild', !HAS_OSSLSIGNCODE && 'osslsigncode'].filter(Boolean);
const SKIP_ALL = missing.length ? `${missing.join(', ')} not installed` : false;
const SKIP_PROPS = !HAS_WIXL || !HAS_MSIBUILD ? 'wixl/msibuild (msitools) not installed' : false;

/** The first bytes of a root stream, located in the file (so a test can damage its content in place). */
async function streamOffset(path: string, decodedName: string, minSize: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const file = await openCompoundFile(new PositionedReader(handle, (await handle.stat()).size));
    const entry = file.root.children.find((c) => decodeStreamName(c.name) === decodedName);
    assert.ok(entry && entry.size >= minSize, `${decodedName} exists with ≥ ${minSize} bytes`);
    const head = (await file.readStream(entry, 1 << 20)).subarray(0, 48);
    const bytes = readFileSync(path);
    const at = bytes.indexOf(head);
    assert.ok(at > 0 && bytes.indexOf(head, at + 1) < 0, `${decodedName} located once`);
    return at;
  } finally {
    await handle.close();
  }
}

/** File offset of the directory entry named `name` (UTF-16LE), for damaging metadata. */
function directoryEntryOffset(bytes: Buffer, name: string): number {
  const at = bytes.indexOf(Buffer.from(`${name}\0`, 'utf16le'));
  assert.ok(at > 0 && at % 128 === 0, `directory entry ${JSON.stringify(name)} found`);
  return at;
}

describe('MSI Authenticode verification (wixl + osslsigncode fixtures)', { skip: SKIP_ALL }, () => {
  let dir: string;
  let pki: TestSigningPki;
  let unsigned: string;
  const signed: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'msi-authenticode-'));
    pki = createSigningPki(dir);
    unsigned = buildMsi(dir, 'product', PRODUCT);
    const variants: [string, string, string[]][] = [
      ['plain', unsigned, []],
      ['dse', unsigned, ['-add-msi-dse']],
      ['sha1', unsigned, ['-h', 'sha1']],
      ['patch', buildPatchLike(dir, 'patch', PATCH), []],
    ];
    for (const [name, input, extra] of variants) {
      signed[name] = join(dir, `${name}-signed.msi`);
      osslSign(pki, input, signed[name], extra);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts what osslsigncode signed, as osslsigncode verify does', async () => {
    await assertAcceptedAsOsslsigncodeDoes(signed, pki, NOW, (name, result) => {
      assert.equal(result?.kind, 'msi');
      assert.equal(result?.ok, true, `${name}: ${JSON.stringify(result)}`);
    });
  });

  it('reports a one-byte change in a large or a small stream as digest-mismatch (osslsigncode agrees)', async () => {
    for (const [stream, minSize] of [['product.cab', 4096], ['!_StringData', 16]] as const) {
      const at = await streamOffset(signed.plain, stream, minSize);
      const bytes = readFileSync(signed.plain);
      bytes[at + 20] ^= 0x01;
      const path = writeFixture(dir, 'tampered.msi', bytes);
      const result = await verifyFileSignature(path, [pki.root], NOW);
      assert.equal(result?.ok === false && result.reason, 'digest-mismatch', `${stream}: ${JSON.stringify(result)}`);
      assert.equal(osslVerify(path, pki.rootPath).ok, false, `osslsigncode accepts a change in ${stream}`);
    }
  });

  it('covers stream metadata only when MsiDigitalSignatureEx is present', async () => {
    for (const [name, expected] of [['dse', false], ['plain', true]] as const) {
      const bytes = readFileSync(signed[name]);
      const entry = directoryEntryOffset(bytes, '\x05SummaryInformation');
      bytes[entry + 0x6c] ^= 0x01; // modified time
      const path = writeFixture(dir, `${name}-time.msi`, bytes);
      const result = await verifyFileSignature(path, [pki.root], NOW);
      assert.equal(result?.ok, expected, `${name}: ${JSON.stringify(result)}`);
      assert.equal(osslVerify(path, pki.rootPath).ok, expected, `osslsigncode on ${name}`);
    }
  });

  it('reports unsigned, untrusted and expired', async () => {
    const plain = await verifyFileSignature(unsigned, [pki.root], NOW);
    assert.equal(plain?.ok === false && plain.reason, 'unsigned');
    const untrusted = await verifyFileSignature(signed.plain, [pki.otherRoot], NOW);
    assert.equal(untrusted?.ok === false && untrusted.reason, 'untrusted');
    const expired = await verifyFileSignature(signed.plain, [pki.root], new Date(NOW.getTime() + 365 * 86_400_000));
    assert.equal(expired?.ok === false && expired.reason, 'expired');
  });

  it('reports truncated and structurally broken packages as malformed without throwing', async () => {
    const good = readFileSync(signed.plain);
    const rootAt = (good.readUInt32LE(0x30) + 1) * 512;
    const cases: Record<string, Buffer> = {
      'header only': good.subarray(0, 600),
      'cut in half': good.subarray(0, good.length >> 1),
      'bad byte order': damaged(good, (b) => b.writeUInt16LE(0xfeff, 0x1c)),
      'directory loop': damaged(good, (b) => b.writeUInt32LE(0, rootAt + 0x4c)), // the root is its own child
      'FAT loop': damaged(good, (b) => {
        const fat = (b.readUInt32LE(0x4c) + 1) * 512;
        const first = b.readUInt32LE(0x30);
        b.writeUInt32LE(first, fat + first * 4); // the directory chain points at itself
      }),
      'garbage after the magic': Buffer.concat([good.subarray(0, 8), Buffer.alloc(4096, 0xa5)]),
    };
    await assertEachMalformed(dir, 'bad.msi', cases, [pki.root], NOW);
  });

  it('never throws on random damage to a signed package', async () => {
    const good = readFileSync(signed.dse);
    // Bias towards the header and directory, where structure lives.
    for (const bytes of randomlyDamaged(good, 11, 150, (i) => (i % 2 ? 4096 : good.length))) {
      await assertKindOrNull(dir, 'fuzz.msi', bytes, 'msi', [pki.root], NOW);
      await readMsiProperties(join(dir, 'fuzz.msi')).catch((error: unknown) => {
        assert.ok(error instanceof MsiFormatError, String(error));
      });
    }
  });
});

describe('readMsiProperties', { skip: SKIP_PROPS }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'msi-properties-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the product identity of an .msi', async () => {
    const props = await readMsiProperties(buildMsi(dir, 'product', PRODUCT));
    assert.deepEqual(props, {
      ProductCode: PRODUCT.productCode,
      ProductVersion: PRODUCT.version,
      ProductName: PRODUCT.name,
      Manufacturer: PRODUCT.manufacturer,
      ProductLanguage: '1033',
      UpgradeCode: PRODUCT.upgradeCode,
    });
  });

  it('returns the patch code, obsoleted patches, targets and metadata of an .msp', async () => {
    const props = await readMsiProperties(buildPatchLike(dir, 'patch', PATCH));
    assert.deepEqual(props, {
      PatchCode: PATCH.patchCode,
      ObsoletedPatchCodes: PATCH.obsoletes.join(';'),
      TargetProductCodes: PATCH.targetProductCodes.join(';'),
      DisplayName: PATCH.displayName,
      ManufacturerName: 'Test Vendor',
    });
  });

  it('refuses files that are not installer packages with an InvalidInput error', async () => {
    for (const bytes of [Buffer.from('not a package'), Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(1024)])]) {
      await assert.rejects(readMsiProperties(writeFixture(dir, 'bad.msi', bytes)), (error: unknown) => {
        assert.ok(error instanceof MsiFormatError);
        assert.equal(error.code, 'InvalidInput');
        return true;
      });
    }
  });
});
