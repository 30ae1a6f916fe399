/**
 * Range requests (RFC 9110 §14): reading a `Range` field's byte ranges, and the
 * `multipart/byteranges` body that answers for several (§14.6).
 *
 * @module
 */

import { trimOws } from "../h1/grammar.ts";
import { FileShrank, fileSource } from "../shared/file_body.ts";

/** More ranges than this in one request and the whole file is sent instead (§14.2 allows it). */
const MAX_RANGES = 16;
/** Bytes read per pull of a multipart body, as a whole file's body reads them. */
const CHUNK = 256 * 1024;
const encoder = new TextEncoder();

/**
 * `bytes=` ranges (§14.1.2) as inclusive [start, end] pairs, sorted, with overlapping and
 * adjacent ones merged (§14.6 allows it; it also defuses "bytes=0-,0-,0-…" amplification).
 *
 * Null means "ignore the header and send the whole file" (§14.2): bad syntax, another unit, or
 * more than 16 ranges. "unsatisfiable" (416) means no range overlaps the file. A range covering
 * the whole file is still a range: media players (Safari first of all) probe with `bytes=0-` and
 * want a 206. Whitespace is SP and HTAB only (OWS, §5.6.3), around the list's elements and the
 * `=`; anything else makes the header invalid.
 *
 * @example
 * ```ts
 * import { parseRange } from "./range.ts";
 * parseRange("bytes=0-99", 1000); // [[0, 99]]
 * parseRange("bytes=-100", 1000); // [[900, 999]]
 * parseRange("bytes=0-9,5-19,50-", 100); // [[0, 19], [50, 99]]
 * parseRange("bytes=2000-", 1000); // "unsatisfiable"
 * parseRange("bytes=9-1", 1000); // null
 * ```
 */
export function parseRange(
  header: string,
  size: number,
): [number, number][] | null | "unsatisfiable" {
  const equals = header.indexOf("=");
  if (equals < 0) return null;
  // The unit is a token compared case-insensitively (§14.1); only "bytes" is ours.
  if (trimOws(header.slice(0, equals)).toLowerCase() !== "bytes") return null;
  // range-set = 1#range-spec: OWS around each element, empty elements skipped (§5.6.1).
  const specs: string[] = [];
  for (const element of header.slice(equals + 1).split(",")) {
    const spec = trimOws(element);
    if (spec !== "") specs.push(spec);
  }
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges: [number, number][] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === "" && r[2] === "")) return null;
    let start: number;
    let end: number;
    if (r[1] === "") {
      // suffix-range: the last N bytes; "-0" asks for nothing and cannot be satisfied.
      const suffix = Number(r[2]);
      if (suffix === 0) continue;
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(r[1]);
      if (r[2] !== "" && Number(r[2]) < start) return null; // last < first: invalid (§14.1.1)
      end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
    }
    if (start >= size) continue;
    ranges.push([start, end]);
  }
  if (ranges.length === 0) return "unsatisfiable";
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [ranges[0]];
  for (const [start, end] of ranges.slice(1)) {
    const last = merged[merged.length - 1];
    if (start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

/** One part of a multipart/byteranges body: its head, then bytes `start` to `end` inclusive. */
interface Part {
  start: number;
  end: number;
  head: Uint8Array<ArrayBuffer>;
}

/** A multipart/byteranges body's plan: its Content-Type, exact length, parts and tail. */
export interface Byteranges {
  type: string;
  length: number;
  parts: Part[];
  tail: Uint8Array<ArrayBuffer>;
}

/**
 * The multipart/byteranges body for `ranges` of a `size`-byte file of type `type`: each part
 * with its own Content-Type and Content-Range (§14.6), the length known before a byte is read.
 */
export function byteranges(ranges: [number, number][], type: string, size: number): Byteranges {
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const parts = ranges.map(([start, end]) => ({
    start,
    end,
    head: encoder.encode(
      `\r\n--${boundary}\r\ncontent-type: ${type}\r\ncontent-range: bytes ${start}-${end}/${size}\r\n\r\n`,
    ),
  }));
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const length = parts.reduce((n, p) => n + p.head.length + p.end - p.start + 1, tail.length);
  return { type: `multipart/byteranges; boundary=${boundary}`, length, parts, tail };
}

/** The body `plan` describes, one range at a time from one open file, read on demand. */
export function byterangesStream(
  file: Deno.FsFile,
  plan: Byteranges,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const { parts, tail } = plan;
  let index = 0;
  let position = 0;
  let end = 0;
  return new ReadableStream(
    fileSource(file, async (controller) => {
      if (position < end) {
        const buffer = new Uint8Array(Math.min(CHUNK, end - position));
        const n = await file.read(buffer);
        if (n === null) throw new FileShrank();
        position += n;
        controller.enqueue(buffer.subarray(0, n));
        return false;
      }
      if (index < parts.length) {
        const part = parts[index++];
        await file.seek(part.start, Deno.SeekMode.Start);
        position = part.start;
        end = part.end + 1;
        controller.enqueue(part.head);
        return false;
      }
      controller.enqueue(tail);
      return true;
    }),
    { highWaterMark: 0 },
  );
}
