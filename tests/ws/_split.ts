/**
 * Feeding helpers: every case is fed whole, one byte at a time, and cut in two at every offset
 * (like h11's `tr` and hyper's "shotgun" tests), so no parser state depends on how reads fall.
 */
import type { WebSocketEvent } from "../../lib/ws/mod.ts";

export interface Split {
  name: string;
  chunks: Uint8Array[];
}

/** Whole; byte by byte (up to 4 KiB); two pieces at every offset (up to 600 bytes, otherwise
 *  the first and last 40 offsets and the middle). */
export function splits(bytes: Uint8Array): Split[] {
  const out: Split[] = [{ name: "whole", chunks: [bytes] }];
  const n = bytes.length;
  if (n > 1 && n <= 4096) {
    out.push({ name: "byte by byte", chunks: [...bytes].map((b) => Uint8Array.of(b)) });
  }
  const offsets = new Set<number>();
  if (n <= 600) { for (let k = 1; k < n; k++) offsets.add(k); }
  else {
    for (let k = 1; k <= 40; k++) offsets.add(k), offsets.add(n - k);
    offsets.add(n >> 1);
  }
  for (const k of offsets) {
    out.push({ name: `split at ${k}`, chunks: [bytes.subarray(0, k), bytes.subarray(k)] });
  }
  return out;
}

export const bytes = (...xs: number[]) => Uint8Array.from(xs);
export const utf8 = (s: string) => new TextEncoder().encode(s);
export const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
export const fromHex = (s: string) =>
  Uint8Array.from(s.trim().split(/\s+/).filter(Boolean), (x) => parseInt(x, 16));

export function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

/** The masking key of RFC 6455 §5.7's examples. */
export const MASK = bytes(0x37, 0xfa, 0x21, 0x3d);

/** A client frame (masked unless `mask: null`), built here independently of `encodeFrame` and
 *  without its checks, so tests can also send frames that break the rules. */
export function client(
  opcode: number,
  payload: Uint8Array | string,
  options: { fin?: boolean; rsv1?: boolean; mask?: Uint8Array | null } = {},
): Uint8Array {
  const data = typeof payload === "string" ? utf8(payload) : payload;
  const { fin = true, rsv1 = false, mask = MASK } = options;
  const n = data.length;
  const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (n < 126) head.push(m | n);
  else if (n < 65536) head.push(m | 126, n >> 8, n & 0xff);
  else {head.push(
      m | 127,
      0,
      0,
      0,
      0,
      (n >>> 24) & 0xff,
      (n >> 16) & 0xff,
      (n >> 8) & 0xff,
      n & 0xff,
    );}
  if (mask) head.push(...mask);
  const body = mask ? data.map((b, i) => b ^ mask[i & 3]) : data;
  return join(Uint8Array.from(head), body);
}

/** Events in a form `assert.deepEqual` compares readably. */
export type Ev =
  | ["text", string]
  | ["binary" | "ping" | "pong", string]
  | ["close", number, string]
  | ["fail", number];

export function simplify(events: WebSocketEvent[]): Ev[] {
  return events.map((e): Ev => {
    switch (e.type) {
      case "text":
        return ["text", e.data];
      case "binary":
      case "ping":
      case "pong":
        return [e.type, hex(e.data)];
      case "close":
        return ["close", e.code, e.reason];
      case "fail":
        return ["fail", e.code];
    }
  });
}
