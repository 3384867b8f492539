export { CabinetFormatError, type CabinetErrorCode } from './errors.js';
export {
  cabinetChecksum,
  extractCabinetMember,
  extractMember,
  findMember,
  readCabinet,
  type Cabinet,
  type CabinetCompression,
  type CabinetDataBlock,
  type CabinetFolder,
  type CabinetLimits,
  type CabinetMember,
} from './cabinet-reader.js';
export { LZX_FRAME_SIZE, LZX_MAX_WINDOW_BITS, LZX_MIN_WINDOW_BITS, LzxDecoder } from './lzx-decoder.js';
export { UPDATE_BLOB_MEMBER, decodeBlobText, decodeUpdateBlob, decodeUpdateBlobBytes } from './update-blob.js';
export {
  TYPE_COMPRESS_LZX21,
  TYPE_COMPRESS_MSZIP,
  MAX_FOLDER_BYTES,
  TYPE_COMPRESS_NONE,
  assembleCabinet,
  buildCabinet,
  compressFolder,
  type CabinetLayout,
  type CabinetWriterBlock,
  type CabinetWriterFile,
  type CabinetWriterFolder,
} from './cabinet-writer.js';
export { lzxCompress, type LzxEncodeOptions, type LzxToken } from './lzx-encoder.js';
export {
  AUTHENTICODE_CAB_RESERVE,
  buildSignableCabinet,
  cabinetAuthenticodeDigest,
  cabinetSignature,
  cabinetSignatureSlot,
  signCabinet,
} from './authenticode-cab.js';
