export { XpressFormatError, decodePlainLz77 } from './plain-lz77-decode.js';
export { encodePlainLz77, maxPlainLz77Size } from './plain-lz77-encode.js';
export {
  XPRESS_DEFAULT_BLOCK_SIZE,
  XPRESS_MAX_BLOCK_SIZE,
  xpressCompress,
  xpressDecompress,
} from './xpress-framing.js';
