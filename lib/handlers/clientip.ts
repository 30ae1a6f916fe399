/**
 * Who the client is when requests come through proxies: the peer's address, unless the peer is
 * a trusted proxy, in which case `Forwarded` (RFC 7239) or `X-Forwarded-For` is read from the
 * right, skipping trusted hops, so a client cannot spoof by prepending addresses.
 *
 * Everything here is a pure function of its arguments: no DNS, no I/O.
 *
 * @module
 */

import { TCHAR, trimOws } from "../h1/grammar.ts";

const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Four decimal parts, each 0–255 with no leading zero (as Go's parser: "010" could mean 8). */
function parseV4(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return false;
    out[at + i] = Number(p);
  }
  return true;
}

/** Hex groups as 16-bit words, or null if any is not 1–4 hex digits. */
function hexGroups(text: string): number[] | null {
  if (text === "") return [];
  const words: number[] = [];
  for (const group of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    words.push(parseInt(group, 16));
  }
  return words;
}

/**
 * An IP address as 16 bytes, IPv4 mapped into IPv6 (`::ffff:a.b.c.d`), or null if `text` is not
 * one. Accepts dotted IPv4 and IPv6 in any RFC 4291 form, with an embedded IPv4 tail and an
 * ignored zone (`fe80::1%eth0`); no brackets, ports or surrounding spaces.
 *
 * @example
 * ```ts
 * import { parseIp } from "./clientip.ts";
 * parseIp("::ffff:10.0.0.1"); // the same 16 bytes as parseIp("10.0.0.1")
 * parseIp("example.com"); // null
 * ```
 */
export function parseIp(text: string): Uint8Array | null {
  const bytes = new Uint8Array(16);
  if (!text.includes(":")) {
    bytes.set(V4_MAPPED);
    return parseV4(text, bytes, 12) ? bytes : null;
  }
  let ip = text;
  const zone = ip.indexOf("%");
  if (zone !== -1) {
    if (zone === ip.length - 1) return null;
    ip = ip.slice(0, zone);
  }
  // An embedded IPv4 tail ("::ffff:1.2.3.4") fills the last two words.
  let tailWords = 0;
  const lastColon = ip.lastIndexOf(":");
  if (ip.includes(".", lastColon)) {
    if (!parseV4(ip.slice(lastColon + 1), bytes, 12)) return null;
    tailWords = 2;
    // Keep the colon when it is part of "::" ("::1.2.3.4"), drop it otherwise.
    ip = ip.endsWith("::", lastColon + 1) ? ip.slice(0, lastColon + 1) : ip.slice(0, lastColon);
  }
  const halves = ip.split("::");
  if (halves.length > 2) return null;
  const head = hexGroups(halves[0]);
  const rest = halves.length === 2 ? hexGroups(halves[1]) : [];
  if (head === null || rest === null) return null;
  const words = head.length + rest.length + tailWords;
  // Without "::" every word is written; with it, "::" stands for at least one zero word.
  if (halves.length === 1 ? words !== 8 : words > 7) return null;
  const put = (word: number, index: number) => {
    bytes[2 * index] = word >> 8;
    bytes[2 * index + 1] = word & 0xff;
  };
  head.forEach(put);
  const restStart = 8 - tailWords - rest.length;
  rest.forEach((word, i) => put(word, restStart + i));
  return bytes;
}

/** Whether 16 bytes from {@link parseIp} are an IPv4 address (IPv4-mapped IPv6). */
function isV4(bytes: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (bytes[i] !== V4_MAPPED[i]) return false;
  return true;
}

/** `[::1]` → `::1`, tolerating the brackets of URL and `Forwarded` syntax. */
function unbracket(text: string): string {
  return text.length > 2 && text[0] === "[" && text[text.length - 1] === "]"
    ? text.slice(1, -1)
    : text;
}

interface Range {
  base: Uint8Array;
  mask: Uint8Array;
}

/**
 * A set of trusted proxy addresses and CIDR ranges, IPv4 and IPv6. IPv4 is compared as
 * IPv4-mapped IPv6, so `::ffff:10.1.2.3` is in `10.0.0.0/8` and `::/0` covers IPv4 too.
 *
 * @example
 * ```ts
 * import { TrustedProxies } from "./clientip.ts";
 * const trusted = new TrustedProxies(["10.0.0.0/8", "::1", "fd00::/8"]);
 * trusted.has("10.1.2.3"); // true
 * trusted.has("::ffff:10.1.2.3"); // true
 * trusted.has("203.0.113.7"); // false
 * ```
 */
export class TrustedProxies {
  readonly #ranges: Range[] = [];

  /**
   * Trusts the given addresses and ranges.
   * @param cidrs addresses ("127.0.0.1", "::1") or ranges ("10.0.0.0/8", "fd00::/8")
   * @throws {TypeError} for anything that is not an IP address or CIDR range
   */
  constructor(cidrs: string[] = []) {
    for (const cidr of cidrs) {
      const slash = cidr.indexOf("/");
      const address = unbracket(trimOws(slash === -1 ? cidr : cidr.slice(0, slash)));
      const prefix = slash === -1 ? undefined : trimOws(cidr.slice(slash + 1));
      const base = parseIp(address);
      const v4 = !address.includes(":");
      const max = v4 ? 32 : 128;
      if (base === null || (prefix !== undefined && !/^[0-9]{1,3}$/.test(prefix))) {
        throw new TypeError(`not an IP address or CIDR range: "${cidr}"`);
      }
      const bits = prefix === undefined ? max : Number(prefix);
      if (bits > max) {
        throw new TypeError(`prefix longer than ${max} bits: "${cidr}"`);
      }
      this.#ranges.push({ base, mask: maskOf(bits + (v4 ? 96 : 0)) });
    }
  }

  /** Whether no proxy is trusted (then forwarding headers are never read). */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /**
   * Whether `ip` lies in one of the ranges; false for anything that is not an IP address.
   * @param ip an IPv4 or IPv6 address, optionally in brackets
   */
  has(ip: string): boolean {
    if (this.#ranges.length === 0) return false;
    const bytes = parseIp(unbracket(trimOws(ip)));
    if (bytes === null) return false;
    return this.#ranges.some(({ base, mask }) => {
      for (let i = 0; i < 16; i++) if ((bytes[i] & mask[i]) !== (base[i] & mask[i])) return false;
      return true;
    });
  }
}

/** The first `bits` bits set, as 16 bytes. */
function maskOf(bits: number): Uint8Array {
  const mask = new Uint8Array(16);
  for (let i = 0; i < 16; i++, bits -= 8) {
    mask[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return mask;
}

/**
 * A stable key for `address` that one client cannot multiply: IPv4 as dotted decimal (mapped
 * forms included), IPv6 reduced to its first `ipv6Prefix` bits (a single host usually holds a
 * whole /64), anything else (`unknown`, `_obfuscated`) as it is.
 *
 * @example
 * ```ts
 * import { addressKey } from "./clientip.ts";
 * addressKey("::ffff:192.0.2.1"); // "192.0.2.1"
 * addressKey("2001:db8:1:2:aaaa::1") === addressKey("2001:db8:1:2:bbbb::9"); // true
 * ```
 */
export function addressKey(address: string, ipv6Prefix = 64): string {
  const bytes = parseIp(address);
  if (bytes === null) return address;
  if (isV4(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const mask = maskOf(ipv6Prefix);
  let key = "";
  for (let i = 0; i < 16; i += 2) {
    key += (((bytes[i] & mask[i]) << 8) | (bytes[i + 1] & mask[i + 1])).toString(16);
    key += i < 14 ? ":" : `/${ipv6Prefix}`;
  }
  return key;
}

/** What one hop of a forwarding header names. */
type Hop =
  | { kind: "ip"; address: string }
  /** `unknown` or an obfuscated `_identifier` (RFC 7239 §6): a client, but not an address. */
  | { kind: "opaque"; address: string };

const OBFUSCATED = /^_[A-Za-z0-9._-]+$/;

/**
 * One node of `Forwarded` or `X-Forwarded-For`: `1.2.3.4`, `1.2.3.4:80`, `[v6]`, `[v6]:80`,
 * a bare `v6`, `unknown`, `_hidden` (ports may be obfuscated too). Null when malformed.
 */
function parseNode(text: string): Hop | null {
  let host = text;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close === -1 || !validPort(host.slice(close + 1))) return null;
    host = host.slice(1, close);
    return host.includes(":") && parseIp(host) !== null ? { kind: "ip", address: host } : null;
  }
  if (parseIp(host) !== null) return { kind: "ip", address: host }; // IPv4, or bare IPv6
  const colon = host.indexOf(":");
  if (colon !== -1) {
    if (!validPort(host.slice(colon))) return null;
    host = host.slice(0, colon);
  }
  if (!host.includes(":") && parseIp(host) !== null) return { kind: "ip", address: host };
  if (host.toLowerCase() === "unknown") return { kind: "opaque", address: "unknown" };
  if (OBFUSCATED.test(host)) return { kind: "opaque", address: host };
  return null;
}

/** "" or ":port", the port numeric (at most 65535) or obfuscated. */
function validPort(text: string): boolean {
  if (text === "") return true;
  if (text[0] !== ":") return false;
  const port = text.slice(1);
  return (/^[0-9]{1,5}$/.test(port) && Number(port) <= 65535) || OBFUSCATED.test(port);
}

// An unquoted `Forwarded` value is a token (RFC 7239 §4); `:`, `[` and `]` are allowed too, as
// RFC 7239 §6 wants IPv6 addresses and ports quoted but some proxies send them bare.
const BARE_VALUE = TCHAR.slice();
for (const c of ":[]") BARE_VALUE[c.charCodeAt(0)] = 1;

/**
 * The hops named by `Forwarded` (RFC 7239 §4), first to last, or null if the header is
 * malformed. An element without `for=` is a hop that did not say who it heard from: unknown.
 */
function forwardedHops(header: string): Hop[] | null {
  const hops: Hop[] = [];
  let i = 0;
  const n = header.length;
  // OWS: SP and HTAB only (RFC 9110 §5.6.3).
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  while (i <= n) {
    // One element: pairs separated by ";", up to "," or the end. Empty elements are allowed.
    let node: string | null = null;
    let pairs = 0;
    for (;;) {
      skipSpace();
      if (i >= n || header[i] === ",") break;
      const nameStart = i;
      while (i < n && TCHAR[header.charCodeAt(i)] === 1) i++;
      const name = header.slice(nameStart, i).toLowerCase();
      if (name === "" || header[i] !== "=") return null;
      i++;
      let value = "";
      if (header[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) return null; // unterminated quoted-string
          const c = header[i++];
          if (c === '"') break;
          if (c === "\\") {
            if (i >= n) return null;
            value += header[i++];
          } else value += c;
        }
      } else {
        const valueStart = i;
        while (i < n && BARE_VALUE[header.charCodeAt(i)] === 1) i++;
        value = header.slice(valueStart, i);
        if (value === "") return null;
      }
      pairs++;
      if (name === "for") {
        if (node !== null) return null; // one for= per element
        node = value;
      }
      skipSpace();
      if (i < n && header[i] === ";") i++;
      else if (i < n && header[i] !== ",") return null;
    }
    if (node !== null) {
      const hop = parseNode(node);
      if (hop === null) return null;
      hops.push(hop);
    } else if (pairs > 0) {
      hops.push({ kind: "opaque", address: "unknown" });
    }
    i++; // past "," (or the end)
  }
  return hops;
}

/**
 * The hops named by `X-Forwarded-For`, first to last; a malformed entry becomes null. Entries
 * are trimmed of OWS, SP and HTAB only (RFC 9110 §5.6.3): `\u00a01.2.3.4` is no address.
 */
function xffHops(header: string): (Hop | null)[] {
  const hops: (Hop | null)[] = [];
  for (const entry of header.split(",")) {
    const text = trimOws(entry);
    if (text !== "") hops.push(parseNode(text));
  }
  return hops;
}

/**
 * The client's address for `request`: the peer's, or, when the peer is a trusted proxy, the
 * right-most hop of `Forwarded` (preferred) or `X-Forwarded-For` that is not itself a trusted
 * proxy. Reading from the right means a client can prepend what it likes and still be named
 * by the address our proxy saw. A malformed header, or a malformed hop reached before an
 * untrusted one, gives the peer's address. `unknown` and obfuscated `_identifiers` from
 * `Forwarded` are returned as they are: they name a client, though not by address.
 *
 * @example
 * ```ts
 * import { clientAddress, TrustedProxies } from "./clientip.ts";
 * const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
 * const peer = { transport: "tcp" as const, hostname: "127.0.0.1", port: 51234 };
 * const request = new Request("http://x/", {
 *   headers: { "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.2" },
 * });
 * clientAddress(request, peer, trusted); // "203.0.113.7": 6.6.6.6 was the client's own claim
 * ```
 */
export function clientAddress(
  request: Request,
  remoteAddr: Deno.NetAddr,
  trusted: TrustedProxies,
): string {
  const peer = remoteAddr.hostname;
  if (!trusted.has(peer)) return peer;
  const forwarded = request.headers.get("forwarded");
  let hops: (Hop | null)[] | null = null;
  if (forwarded !== null) hops = forwardedHops(forwarded);
  else {
    const xff = request.headers.get("x-forwarded-for");
    if (xff !== null) hops = xffHops(xff);
  }
  if (hops === null || hops.length === 0) return peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop === null) return peer;
    if (hop.kind === "opaque" || !trusted.has(hop.address)) return hop.address;
  }
  // Every hop is a trusted proxy: the left-most is as far back as anyone can tell.
  return hops[0]!.address;
}
