/**
 * Response body chunks as bytes, for both protocols' writers.
 *
 * @module
 */

import { COPY_LIMIT } from "./output.ts";

const encoder = new TextEncoder();
const scratch = new Uint8Array(COPY_LIMIT);

/**
 * UTF-8 bytes of a text body. Short texts are encoded into a shared scratch buffer, which is
 * cheaper than allocating; the caller copies them out before it next awaits.
 */
export function utf8(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** Whether `bytes` live in the shared scratch buffer (to be copied before they are kept). */
export function inScratch(bytes: Uint8Array): boolean {
  return bytes.buffer === scratch.buffer;
}

/** Body chunks must be bytes; strings are encoded, as many stream producers enqueue them. */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError("a response body chunk must be a Uint8Array");
}
