// Identity of an installer package for publishing: the product properties of
// an .msi, or the patch code and target products of an .msp. Reads only the
// compound file's directory, string pool and a few small tables.
//
// For an MSI: ProductCode, ProductVersion, ProductName, Manufacturer,
// ProductLanguage and UpgradeCode from the Property table (absent ones omitted).
// For an MSP (root CLSID {000C1086-…}): PatchCode (the first GUID of the
// summary information's revision number), ObsoletedPatchCodes (the rest, ';'-
// joined, when any), TargetProductCodes (the summary template, ';'-separated
// product codes) and, when the patch has an MsiPatchMetadata table, its
// DisplayName, Description, ManufacturerName, Classification and MoreInfoURL.

import { open } from 'node:fs/promises';
import { DomainError } from '../../core/errors.js';
import { openCompoundFile } from './compound-file.js';
import { openMsiDatabase, rootStreams } from './msi-database.js';
import { FileStructureError, PositionedReader } from './positioned-reader.js';
import { PID, parseSummaryInformation } from './summary-information.js';

const PRODUCT_PROPERTIES = ['ProductCode', 'ProductVersion', 'ProductName', 'Manufacturer', 'ProductLanguage', 'UpgradeCode'];
const PATCH_METADATA = ['DisplayName', 'Description', 'ManufacturerName', 'Classification', 'MoreInfoURL'];
const MAX_SUMMARY_BYTES = 64 * 1024;

/** Root storage CLSIDs (little-endian GUID bytes) of installer packages and patches. */
const CLSID_MSI = Buffer.from('84100c0000000000c000000000000046', 'hex');
const CLSID_MSP = Buffer.from('86100c0000000000c000000000000046', 'hex');

const GUID = /\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}/g;

/** A package that is not a readable MSI/MSP. */
export class MsiFormatError extends DomainError {
  constructor(why: string) {
    super('InvalidInput', why, `not a readable Windows Installer package: ${why}`);
  }
}

export async function readMsiProperties(path: string): Promise<Record<string, string>> {
  const handle = await open(path, 'r');
  try {
    const reader = new PositionedReader(handle, (await handle.stat()).size);
    return await readProperties(reader);
  } catch (error) {
    if (error instanceof FileStructureError) throw new MsiFormatError(error.message);
    throw error;
  } finally {
    await handle.close();
  }
}

async function readProperties(reader: PositionedReader): Promise<Record<string, string>> {
  const file = await openCompoundFile(reader);
  const streams = rootStreams(file);
  const db = await openMsiDatabase(file);
  const out: Record<string, string> = {};

  if (file.root.clsid.equals(CLSID_MSP)) {
    const summaryEntry = streams.get('\x05SummaryInformation');
    if (!summaryEntry) throw new FileStructureError('the patch has no summary information');
    const summary = parseSummaryInformation(await file.readStream(summaryEntry, MAX_SUMMARY_BYTES));
    const revision = summary.get(PID.revisionNumber);
    const codes = typeof revision === 'string' ? (revision.match(GUID) ?? []) : [];
    if (codes.length === 0) throw new FileStructureError('the patch summary names no patch code');
    out.PatchCode = codes[0].toUpperCase();
    if (codes.length > 1) out.ObsoletedPatchCodes = codes.slice(1).join(';').toUpperCase();
    const template = summary.get(PID.template);
    if (typeof template === 'string' && template.trim()) out.TargetProductCodes = template.trim();
    for (const row of (await db.table('MsiPatchMetadata')) ?? []) {
      // Rows with a Company are vendor extensions; the standard ones have none.
      if (row.Company === null && typeof row.Property === 'string' && PATCH_METADATA.includes(row.Property)) {
        if (typeof row.Value === 'string') out[row.Property] = row.Value;
      }
    }
    return out;
  }

  const rows = await db.table('Property');
  if (!rows) {
    throw new FileStructureError(
      file.root.clsid.equals(CLSID_MSI) ? 'the package has no Property table' : 'neither an installer package nor a patch',
    );
  }
  for (const row of rows) {
    if (typeof row.Property === 'string' && PRODUCT_PROPERTIES.includes(row.Property) && typeof row.Value === 'string') {
      out[row.Property] = row.Value;
    }
  }
  return out;
}
