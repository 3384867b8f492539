import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMsi, HAS_WIXL } from './msi-fixture.js';

// Payloads and manifests for the `wsus publish` tests (publish-cli.test.ts, publish.e2e.test.ts).

/**
 * A tiny but well-formed PE32 image ("MZ", e_lfanew, "PE\0\0", COFF and optional header with
 * no sections): enough for every "is this an EXE" check; Windows would not run it.
 */
export function tinyExe(marker = 'wsus-ts publish test'): Buffer {
  const b = Buffer.alloc(0x200);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  const coff = 0x84;
  b.writeUInt16LE(0x14c, coff); // i386
  b.writeUInt16LE(0, coff + 2); // sections
  b.writeUInt16LE(0xe0, coff + 16); // optional header size
  b.writeUInt16LE(0x0102, coff + 18); // executable, 32-bit
  const opt = coff + 20;
  b.writeUInt16LE(0x10b, opt); // PE32
  b.writeUInt32LE(0x400000, opt + 28); // image base
  b.writeUInt32LE(0x1000, opt + 32); // section alignment
  b.writeUInt32LE(0x200, opt + 36); // file alignment
  b.writeUInt32LE(0x200, opt + 56); // size of image
  b.writeUInt32LE(0x200, opt + 60); // size of headers
  b.writeUInt16LE(3, opt + 68); // console subsystem
  b.writeUInt32LE(16, opt + 92); // data directories
  b.write(marker, 0x1c0, 'latin1');
  return b;
}

/** The manifest of the EXE in these tests (format: notes/manifest-format.md). */
export function exeManifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'Contoso Agent 7.2',
    description: 'Contoso Agent 7.2 for Windows: test publication.',
    vendor: 'Contoso',
    product: 'Contoso Agent',
    classification: 'Updates',
    kb: '5099001',
    install: { arguments: '/quiet /norestart' },
    applicability: {
      installed: { fileVersion: { path: '%ProgramFiles%\\Contoso\\Agent\\agent.exe', comparison: 'greaterThanOrEqualTo', version: '7.2.0.0' } },
      installable: { registryKeyExists: { key: 'HKLM\\SOFTWARE\\Contoso\\Agent' } },
    },
    ...over,
  };
}

export function msiManifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'Contoso Console 3.1 (MSI)',
    description: 'The Contoso console as a Windows Installer package.',
    vendor: 'Contoso',
    product: 'Contoso Console',
    classification: 'Feature Packs',
    kb: '5099002',
    ...over,
  };
}

export { HAS_WIXL };

export const MSI_PRODUCT_CODE = '{5C2A8F0E-3D1B-4E7A-9F60-2B8C4D1E7A31}';
export const MSI_VERSION = '3.1.0';

/** A small real MSI built with wixl (msitools); undefined when wixl is absent. */
export function buildConsoleMsi(): Buffer | undefined {
  if (!HAS_WIXL) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'wsus-msi-'));
  try {
    return readFileSync(buildMsi(dir, 'console', {
      productCode: MSI_PRODUCT_CODE, upgradeCode: '{8E4D2B7A-61C3-4F0B-A5D9-3C7E1F2A9B40}', version: MSI_VERSION,
      name: 'Contoso Console', manufacturer: 'Contoso',
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
