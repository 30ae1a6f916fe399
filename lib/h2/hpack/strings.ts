/**
 * Byte strings: HTTP field names and values are octets, kept in JS as strings with one char
 * per octet (as `Headers` does), so `.length` is the octet count HPACK sizes use.
 *
 * @module
 */

/** The octets `buf[start..end)` as a string, one char per octet. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n === 0) return "";
  if (n === 1) return String.fromCharCode(buf[start]);
  if (n <= 8192) {
    // apply() over a view avoids a per-char loop and intermediate strings.
    return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  }
  let s = "";
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return s;
}

/** Writes `s` one octet per char; throws on chars above 0xFF (not a byte string). */
export function writeLatin1(s: string, out: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`field has a char above 0xFF: ${JSON.stringify(s)}`);
    out[pos++] = c;
  }
  return pos;
}
