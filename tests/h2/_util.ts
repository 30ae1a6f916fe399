/**
 * Test helpers for the HTTP/2 core: hex, frames built by hand, and feeding bytes to a
 * receiver whole, one byte at a time, and split at every offset.
 *
 * @module
 */

/** Bytes from hex; spaces, newlines and `|`-comments (as in RFC 7541 Appendix C) ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.split("\n").map((l) => l.split("|")[0]).join("").replace(/\s+/g, "");
  if (digits.length % 2) throw new Error(`odd hex: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A raw frame (RFC 9113 §4.1): any type, flags, stream and payload, lengths unchecked. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array | number[] = [],
): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = p.length >>> 16;
  out[1] = p.length >>> 8;
  out[2] = p.length;
  out[3] = type;
  out[4] = flags;
  new DataView(out.buffer).setUint32(5, streamId);
  out.set(p, 9);
  return out;
}

export function u32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/** The ways one byte string is cut into chunks: whole, bytewise, and at every offset. */
export function* splits(bytes: Uint8Array): Generator<[string, Uint8Array[]]> {
  yield ["whole", [bytes]];
  if (bytes.length > 1) {
    yield ["byte by byte", Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))];
  }
  for (let i = 1; i < bytes.length; i++) {
    yield [`split at ${i}`, [bytes.subarray(0, i), bytes.subarray(i)]];
  }
}
