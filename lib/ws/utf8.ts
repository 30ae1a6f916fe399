import { invalidData } from "./errors.ts";

/**
 * Incremental UTF-8 validation that fails at the first byte that cannot continue a well-formed
 * sequence (RFC 6455 §8.1 wants invalid text failed; Autobahn 6.x wants it failed fast, before the
 * rest of the frame arrives).
 *
 * The state is "how many continuation bytes are still due, and the range the next one must fall
 * in". The ranges are The Unicode Standard §3.9 Table 3-7 (well-formed UTF-8 byte sequences), the
 * same table Hoehrmann's DFA encodes; written as ranges it rejects overlongs (C0, C1, E0 80–9F,
 * F0 80–8F), surrogates (ED A0–BF) and code points past U+10FFFF (F4 90–BF, F5–FF) on the byte
 * that makes them so:
 *
 *   lead      second    third/fourth
 *   00–7F
 *   C2–DF     80–BF
 *   E0        A0–BF     80–BF
 *   E1–EC     80–BF     80–BF
 *   ED        80–9F     80–BF
 *   EE–EF     80–BF     80–BF
 *   F0        90–BF     80–BF 80–BF
 *   F1–F3     80–BF     80–BF 80–BF
 *   F4        80–8F     80–BF 80–BF
 */
export class Utf8Validator {
  #due = 0; // continuation bytes still expected
  #lo = 0x80; // bounds for the next continuation byte
  #hi = 0xbf;
  #failed = false;

  /** Feeds the next bytes; false once the input can no longer be valid UTF-8. */
  push(bytes: Uint8Array): boolean {
    if (this.#failed) return false;
    let due = this.#due, lo = this.#lo, hi = this.#hi;
    const n = bytes.length;
    let i = 0;
    if (due === 0) {
      // ASCII, the common case, four bytes at a time up to the first that is not.
      while (i + 4 <= n && ((bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3]) & 0x80) === 0) {
        i += 4;
      }
    }
    for (; i < n; i++) {
      const b = bytes[i];
      if (due === 0) {
        if (b < 0x80) continue; // ASCII, the common case
        if (b >= 0xc2 && b <= 0xdf) due = 1, lo = 0x80, hi = 0xbf;
        else if (b === 0xe0) due = 2, lo = 0xa0, hi = 0xbf;
        else if (b === 0xed) due = 2, lo = 0x80, hi = 0x9f;
        else if (b >= 0xe1 && b <= 0xef) due = 2, lo = 0x80, hi = 0xbf;
        else if (b === 0xf0) due = 3, lo = 0x90, hi = 0xbf;
        else if (b >= 0xf1 && b <= 0xf3) due = 3, lo = 0x80, hi = 0xbf;
        else if (b === 0xf4) due = 3, lo = 0x80, hi = 0x8f;
        else return this.#fail(); // 80–C1 (stray continuation, overlong lead), F5–FF
      } else {
        if (b < lo || b > hi) return this.#fail();
        due--, lo = 0x80, hi = 0xbf;
      }
    }
    this.#due = due, this.#lo = lo, this.#hi = hi;
    return true;
  }

  /** True when everything pushed so far is valid and no sequence is cut off at the end. */
  get complete(): boolean {
    return !this.#failed && this.#due === 0;
  }

  /** Starts over, for the next message. */
  reset(): void {
    this.#due = 0, this.#lo = 0x80, this.#hi = 0xbf, this.#failed = false;
  }

  #fail(): false {
    this.#failed = true;
    return false;
  }
}

/** Whole-buffer check (close reasons, tests). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const v = new Utf8Validator();
  return v.push(bytes) && v.complete;
}

// ignoreBOM: a text message starting with U+FEFF must reach the application with it (§5.6 says
// the payload is the text; a BOM is part of it), and TextDecoder strips it by default.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Decodes bytes already validated by `Utf8Validator`. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
/** Up to this many bytes, checking here and decoding without `fatal` is the cheaper way: the
 *  runtime's fatal decoder costs several times its lenient one per call. */
const SHORT = 512;
const shortCheck = new Utf8Validator();

/** Checks and decodes a whole text message in one pass; throws 1007 if it is not UTF-8. The
 *  runtime's decoder follows the same table as {@link Utf8Validator} (WHATWG Encoding §4.1). */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  if (bytes.length <= SHORT) {
    shortCheck.reset();
    if (!shortCheck.push(bytes) || !shortCheck.complete) {
      throw invalidData("text message is not valid UTF-8");
    }
    return decoder.decode(bytes);
  }
  try {
    return strict.decode(bytes);
  } catch {
    throw invalidData("text message is not valid UTF-8");
  }
}
