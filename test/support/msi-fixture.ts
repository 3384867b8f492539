// Windows Installer packages for tests, made with msitools: an .msi built by
// `wixl` from a small WiX source (with an embedded cabinet large enough to live
// in regular sectors), and a patch-shaped package built with `msibuild` whose
// root storage CLSID is then set to the MSP one (msitools cannot build real
// patches; the summary information and MsiPatchMetadata are what an MSP carries).

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const HAS_WIXL = spawnSync('wixl', ['--version']).error === undefined;
export const HAS_MSIBUILD = spawnSync('msibuild', []).error === undefined;

export interface MsiProduct {
  productCode: string;
  upgradeCode: string;
  version: string;
  name: string;
  manufacturer: string;
}

/** Deterministic, incompressible-ish bytes. */
function payload(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, block = 0; i < size; block++) {
    const digest = createHash('sha256').update(`payload-${block}`).digest();
    digest.copy(out, i);
    i += digest.length;
  }
  return out;
}

/** Builds `<dir>/<name>.msi` with wixl and returns its path. */
export function buildMsi(dir: string, name: string, product: MsiProduct): string {
  const source = join(dir, `${name}.payload.bin`);
  writeFileSync(source, payload(20_000));
  const wxs = join(dir, `${name}.wxs`);
  writeFileSync(
    wxs,
    `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="${product.productCode}" Name="${product.name}" Language="1033" Version="${product.version}"
           Manufacturer="${product.manufacturer}" UpgradeCode="${product.upgradeCode}">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine" />
    <Media Id="1" Cabinet="product.cab" EmbedCab="yes" />
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder">
        <Directory Id="INSTALLDIR" Name="WsusTsTest">
          <Component Id="MainComponent" Guid="12345678-1234-1234-1234-123456789012">
            <File Id="PayloadFile" Name="payload.bin" Source="${name}.payload.bin" KeyPath="yes" />
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="MainComponent" /></Feature>
  </Product>
</Wix>
`,
  );
  const out = join(dir, `${name}.msi`);
  // wixl resolves Source relative to the working directory and refuses absolute paths.
  execFileSync('wixl', ['-o', out, wxs], { stdio: 'pipe', cwd: dir });
  return out;
}

export interface PatchShape {
  patchCode: string;
  obsoletes: string[];
  targetProductCodes: string[];
  displayName: string;
}

const MSP_CLSID = Buffer.from('86100c0000000000c000000000000046', 'hex');

/** Builds `<dir>/<name>.msp`: summary information and MsiPatchMetadata as a patch has them, MSP root CLSID. */
export function buildPatchLike(dir: string, name: string, patch: PatchShape): string {
  const out = join(dir, `${name}.msp`);
  const msibuild = (...args: string[]): void => {
    execFileSync('msibuild', [out, ...args], { stdio: 'pipe' });
  };
  msibuild('-s', patch.displayName, 'Test Vendor', patch.targetProductCodes.join(';'), [patch.patchCode, ...patch.obsoletes].join(''));
  msibuild(
    '-q',
    'CREATE TABLE `MsiPatchMetadata` (`Company` CHAR(72), `Property` CHAR(72) NOT NULL, `Value` LONGCHAR NOT NULL LOCALIZABLE PRIMARY KEY `Company`, `Property`)',
  );
  msibuild('-q', `INSERT INTO \`MsiPatchMetadata\` (\`Property\`, \`Value\`) VALUES ('DisplayName', '${patch.displayName}')`);
  msibuild('-q', "INSERT INTO `MsiPatchMetadata` (`Property`, `Value`) VALUES ('ManufacturerName', 'Test Vendor')");
  msibuild('-q', "INSERT INTO `MsiPatchMetadata` (`Company`, `Property`, `Value`) VALUES ('Other', 'DisplayName', 'vendor extension')");
  // The root entry is the first directory entry; its CLSID is at +0x50.
  const bytes = readFileSync(out);
  const sectorSize = 1 << bytes.readUInt16LE(0x1e);
  const root = (bytes.readUInt32LE(0x30) + 1) * sectorSize;
  MSP_CLSID.copy(bytes, root + 0x50);
  writeFileSync(out, bytes);
  return out;
}
