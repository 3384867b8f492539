// [MS-XCA] 2.3 "Plain LZ77" compression. This runs on every SOAP response of the scan
// hot path, so it trades a little ratio for speed: hash chains over 3-byte prefixes,
// a short chain walk, one-step lazy parsing, and reusable module-level tables so a
// call allocates nothing but its output buffer.

const WINDOW = 8192; // 13-bit offset field stores offset - 1
const WINDOW_MASK = WINDOW - 1;
const MIN_MATCH = 3;
const HASH_BITS = 14;
const HASH_SHIFT = 32 - HASH_BITS;
// Chain depth and "good enough" length: beyond these, extra search time buys little
// ratio on XML but costs throughput.
const MAX_CHAIN = 8;
const NICE_LENGTH = 48;
// Worst case bytes one step can write: a 10-byte match token plus a fresh flag word.
const STEP_MARGIN = 14;
/** Spare room an output buffer needs beyond the compressed size for the step checks. @internal */
export const ENCODE_SLACK = STEP_MARGIN + 2;

// Tables store `generation + position`; bumping the generation by more than any
// position used invalidates every old entry without clearing 96 KB per call.
const head = new Int32Array(1 << HASH_BITS);
const prev = new Int32Array(WINDOW);
let generation = 1;

/** Upper bound of the Plain LZ77 size of `n` input bytes (all literals). */
export function maxPlainLz77Size(n: number): number {
  // Every symbol writes no more bytes than it consumes, plus one flag word per 32
  // symbols and the terminating flag word.
  return n + 4 * (Math.floor(n / 32) + 1);
}

/** Compresses `input` into one complete Plain LZ77 stream (no framing). */
export function encodePlainLz77(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(maxPlainLz77Size(input.length) + ENCODE_SLACK);
  const size = encodePlainLz77Into(input, 0, input.length, out, 0, out.length);
  return out.slice(0, size);
}

/**
 * Compresses `src[srcStart, srcEnd)` into `out` starting at `outStart`, never writing at
 * or beyond `outLimit`. Returns the compressed size, or -1 as soon as the output could
 * reach `outLimit`: the framing layer then stores the block raw without finishing a
 * pointless compression. Matches never reach before `srcStart`.
 * @internal
 */
export function encodePlainLz77Into(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  out: Uint8Array,
  outStart: number,
  outLimit: number,
): number {
  const length = srcEnd - srcStart;
  if (generation + length + 1 > 0x7fffffff) {
    head.fill(0);
    prev.fill(0);
    generation = 1;
  }
  // Entries written by this call lie in [generation, generation + length).
  const gen = generation - srcStart;
  generation += length + 1;

  const safeLimit = outLimit - STEP_MARGIN;
  let flagPos = outStart;
  let op = outStart + 4;
  let flags = 0;
  let flagCount = 0;
  let halfByte = -1;
  let ip = srcStart;
  const lastMatchStart = srcEnd - MIN_MATCH; // a match needs 3 bytes of lookahead

  let haveNext = false; // the match at ip was already found by the lazy look-ahead
  let bestLen = 0;
  let bestDist = 0;

  while (ip < srcEnd) {
    if (op > safeLimit) return -1;
    if (!haveNext) {
      bestLen = ip <= lastMatchStart ? findMatch(src, ip, srcStart, srcEnd, gen) : 0;
      bestDist = foundDist;
    }
    haveNext = false;
    let indexedTo = ip + 1;

    // Lazy evaluation: when a longer match starts one byte later, a literal plus that
    // match beats the current one (about 2% smaller SOAP output for 7% more time).
    if (bestLen >= MIN_MATCH && bestLen < NICE_LENGTH && ip < lastMatchStart) {
      const nextLen = findMatch(src, ip + 1, srcStart, srcEnd, gen);
      indexedTo = ip + 2;
      if (nextLen > bestLen) {
        bestLen = 0;
        haveNext = true;
      }
    }

    if (bestLen < MIN_MATCH) {
      out[op++] = src[ip++];
      flags <<= 1;
      if (haveNext) {
        bestLen = foundLen;
        bestDist = foundDist;
      }
    } else {
      let rest = bestLen - MIN_MATCH;
      const tokenBase = (bestDist - 1) << 3;
      if (rest < 7) {
        const token = tokenBase | rest;
        out[op++] = token;
        out[op++] = token >>> 8;
      } else {
        const token = tokenBase | 7;
        out[op++] = token;
        out[op++] = token >>> 8;
        rest -= 7;
        // Extended lengths pair up: the first uses the low nibble of a new byte,
        // the next one the high nibble of that same byte.
        const nibble = rest < 15 ? rest : 15;
        if (halfByte < 0) {
          halfByte = op;
          out[op++] = nibble;
        } else {
          out[halfByte] |= nibble << 4;
          halfByte = -1;
        }
        if (nibble === 15) {
          rest -= 15;
          if (rest < 255) {
            out[op++] = rest;
          } else {
            out[op++] = 255;
            rest += 15 + 7; // the 16/32-bit forms hold the whole length - 3
            if (rest < 0x10000) {
              out[op++] = rest;
              out[op++] = rest >>> 8;
            } else {
              out[op++] = 0;
              out[op++] = 0;
              out[op++] = rest;
              out[op++] = rest >>> 8;
              out[op++] = rest >>> 16;
              out[op++] = rest >>> 24;
            }
          }
        }
      }
      flags = (flags << 1) | 1;

      // Index the positions inside the match so later data can refer into it.
      const matchEnd = ip + bestLen;
      const insertEnd = matchEnd - 1 < lastMatchStart ? matchEnd - 1 : lastMatchStart;
      for (let p = indexedTo; p <= insertEnd; p++) {
        const h = Math.imul(src[p] | (src[p + 1] << 8) | (src[p + 2] << 16), 0x9e3779b1) >>> HASH_SHIFT;
        prev[p & WINDOW_MASK] = head[h];
        head[h] = gen + p;
      }
      ip = matchEnd;
    }

    if (++flagCount === 32) {
      writeU32(out, flagPos, flags);
      flagPos = op;
      op += 4;
      flagCount = 0;
      flags = 0;
    }
  }

  // Unused flag bits must be ones: the set bit after the last symbol is what marks
  // the end of the stream for decoders that do not know the output size. A flag word
  // reserved after exactly 32 symbols therefore becomes all ones.
  const unused = 32 - flagCount;
  writeU32(out, flagPos, unused === 32 ? -1 : (flags << unused) | ((1 << unused) - 1));
  return op - outStart;
}

// Results of findMatch beyond its return value, kept in module scope to avoid
// allocating a result object per position.
let foundLen = 0;
let foundDist = 0;

/** Indexes position `ip` and returns the longest match found for it (0 if none). */
function findMatch(src: Uint8Array, ip: number, srcStart: number, srcEnd: number, gen: number): number {
  const h = Math.imul(src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16), 0x9e3779b1) >>> HASH_SHIFT;
  const entry = head[h];
  head[h] = gen + ip;
  prev[ip & WINDOW_MASK] = entry;

  const maxLen = srcEnd - ip;
  const minPos = ip - WINDOW > srcStart ? ip - WINDOW : srcStart;
  const b0 = src[ip];
  const b1 = src[ip + 1];
  const b2 = src[ip + 2];
  let bestLen = 0;
  let bestDist = 0;
  let cand = entry - gen;
  let chain = MAX_CHAIN;
  while (cand >= minPos && chain-- > 0) {
    // Checking the byte that would extend the best match first rejects most
    // candidates with one comparison.
    if (src[cand + bestLen] === src[ip + bestLen] && src[cand] === b0 && src[cand + 1] === b1 && src[cand + 2] === b2) {
      let len = MIN_MATCH;
      while (len < maxLen && src[cand + len] === src[ip + len]) len++;
      if (len > bestLen) {
        bestLen = len;
        bestDist = ip - cand;
        if (len >= NICE_LENGTH || len === maxLen) break;
      }
    }
    const next = prev[cand & WINDOW_MASK] - gen;
    // Ring slots get reused once the window wraps; a non-decreasing link is stale.
    if (next >= cand) break;
    cand = next;
  }
  foundLen = bestLen;
  foundDist = bestDist;
  return bestLen;
}

function writeU32(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value;
  out[pos + 1] = value >>> 8;
  out[pos + 2] = value >>> 16;
  out[pos + 3] = value >>> 24;
}
