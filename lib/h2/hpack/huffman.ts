/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * Appendix B's code is canonical: codes of one length are consecutive and ordered by symbol,
 * and each length starts where the previous one ended, shifted left. So the table below keeps
 * only each symbol's code length, read off Appendix B's "len" column, and the codes are
 * rebuilt from it (tests check them against Appendix B's hex column and the Appendix C
 * vectors). Symbol 256 is EOS.
 *
 * Decoding walks the code tree four bits at a time through a precomputed transition table
 * (256 internal nodes × 16 nibbles), so no per-bit branching and no allocation per string.
 *
 * @module
 */

import { ConnectionError, ErrorCode } from "../errors.ts";

// deno-fmt-ignore
const LENGTHS = new Uint8Array([
  // 0-31: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32-63: ' ' ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95: @ A-Z [ \ ] ^ _
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127: ` a-z { | } ~ DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-255
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // 256: EOS
  30,
]);

export const EOS = 256;

/** Code length in bits per symbol (0-256). */
export const CODE_LENGTHS: Readonly<Uint8Array> = LENGTHS;

/** Code per symbol, right-aligned (Appendix B's "code as hex" column). */
export const CODES: Readonly<Uint32Array> = (() => {
  const codes = new Uint32Array(257);
  let code = 0;
  let prevLen = 0;
  // Canonical assignment: walk lengths ascending, symbols ascending within a length.
  for (let len = 1; len <= 30; len++) {
    for (let sym = 0; sym <= 256; sym++) {
      if (LENGTHS[sym] !== len) continue;
      code = code << (len - prevLen);
      prevLen = len;
      codes[sym] = code++;
    }
  }
  return codes;
})();

// Transition table entry layout: bits 0-7 next state, 8-15 emitted symbol,
// bit 16 "emits", bit 17 "may end here" (§5.2 padding rule), bit 18 "hit EOS".
const EMIT = 1 << 16;
const ACCEPT = 1 << 17;
const FAIL = 1 << 18;

const TRANSITIONS: Uint32Array = (() => {
  // Code tree: child[node * 2 + bit] is an internal node id (> 0) or ~symbol (< 0).
  const child = new Int32Array(512);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  for (let sym = 0; sym <= 256; sym++) {
    const code = CODES[sym], len = LENGTHS[sym];
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = node * 2 + bit;
      if (child[slot] === 0) {
        const id = nodes++;
        child[slot] = id;
        depth[id] = depth[node] + 1;
        allOnes[id] = allOnes[node] & bit;
      }
      node = child[slot];
    }
    child[node * 2 + (code & 1)] = ~sym;
  }
  const table = new Uint32Array(256 * 16);
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state, entry = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[node * 2 + ((nibble >>> i) & 1)];
        if (next >= 0) {
          node = next;
          continue;
        }
        const sym = ~next;
        if (sym === EOS) entry |= FAIL;
        else entry |= EMIT | (sym << 8);
        node = 0;
      }
      // A string may end at the root or inside a run of at most 7 one-bits (§5.2).
      if (node === 0 || (allOnes[node] && depth[node] <= 7)) entry |= ACCEPT;
      table[state * 16 + nibble] = entry | node;
    }
  }
  return table;
})();

function huffmanError(why: string): ConnectionError {
  return new ConnectionError(ErrorCode.COMPRESSION_ERROR, `Huffman: ${why}`);
}

/**
 * Decodes `src[start..end)` into `out` from `outPos`; returns the new end position. `out`
 * must have room for `(end - start) * 8 / 5` bytes (the shortest code is 5 bits).
 * Throws COMPRESSION_ERROR on EOS or bad padding (RFC 7541 §5.2).
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outPos: number,
): number {
  let state = 0, entry = ACCEPT;
  const t = TRANSITIONS;
  for (let i = start; i < end; i++) {
    const b = src[i];
    entry = t[(state << 4) | (b >>> 4)];
    if (entry & EMIT) out[outPos++] = entry >>> 8;
    state = entry & 0xff;
    entry = t[(state << 4) | (b & 15)] | (entry & FAIL);
    if (entry & EMIT) out[outPos++] = (entry >>> 8) & 0xff;
    state = entry & 0xff;
    if (entry & FAIL) throw huffmanError("EOS in string");
  }
  if (!(entry & ACCEPT)) throw huffmanError("padding longer than 7 bits or not EOS's prefix");
  return outPos;
}

/** Octets the Huffman form of a byte string (one char per octet) takes. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff];
  return (bits + 7) >>> 3;
}

/** Writes the Huffman form of `s` into `out` at `pos` (room checked by the caller). */
export function huffmanEncode(s: string, out: Uint8Array, pos: number): number {
  let acc = 0, nbits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let code = CODES[sym], len = LENGTHS[sym];
    if (len > 24) {
      // Keep acc within 32 bits: push the top bits first.
      const hi = len - 16;
      acc = (acc << hi) | (code >>> 16);
      nbits += hi;
      while (nbits >= 8) out[pos++] = acc >>> (nbits -= 8);
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    nbits += len;
    while (nbits >= 8) out[pos++] = acc >>> (nbits -= 8);
  }
  // Pad with the most significant bits of EOS: all ones (§5.2).
  if (nbits > 0) out[pos++] = (acc << (8 - nbits)) | (0xff >>> nbits);
  return pos;
}
