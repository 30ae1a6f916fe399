/**
 * Who the client is when requests come through proxies: the peer's address, unless the peer is
 * a trusted proxy, in which case `Forwarded` (RFC 7239) or `X-Forwarded-For` is read from the
 * right, skipping trusted hops, so a client cannot spoof by prepending addresses.
 *
 * @module
 */

/** An address as 16 bytes (IPv4 mapped into IPv6), or null if it is not an IP address. */
function parseIp(text: string): Uint8Array | null {
  let ip = text.trim();
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  const zone = ip.indexOf("%");
  if (zone !== -1) ip = ip.slice(0, zone);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split(".").map(Number);
    if (parts.some((p) => p > 255)) return null;
    return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...parts]);
  }
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !ip.includes(":")) return null;
  // An embedded IPv4 tail ("::ffff:1.2.3.4") becomes two hex groups.
  const lastColon = ip.lastIndexOf(":");
  const tail = ip.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIp(tail);
    if (v4 === null) return null;
    const high = ((v4[12] << 8) | v4[13]).toString(16);
    const low = ((v4[14] << 8) | v4[15]).toString(16);
    ip = `${ip.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = ip.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const groups = [
    ...head,
    ...(halves.length === 2 ? Array(8 - head.length - rest.length).fill("0") : []),
    ...rest,
  ];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const words = groups.map((g) => parseInt(g, 16));
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 0xff;
  });
  return bytes;
}

interface Range {
  base: Uint8Array;
  bits: number;
}

/**
 * A set of trusted proxy addresses and CIDR ranges, IPv4 and IPv6 (IPv4-mapped IPv6 addresses
 * match IPv4 ranges).
 *
 * @example
 * ```ts
 * import { TrustedProxies } from "./clientip.ts";
 * const trusted = new TrustedProxies(["10.0.0.0/8", "::1"]);
 * trusted.has("10.1.2.3"); // true
 * ```
 */
export class TrustedProxies {
  readonly #ranges: Range[] = [];

  /**
   * Trusts the given addresses and ranges.
   * @param cidrs addresses ("127.0.0.1") or ranges ("10.0.0.0/8", "fd00::/8")
   */
  constructor(cidrs: string[] = []) {
    for (const cidr of cidrs) {
      const [address, prefix] = cidr.split("/");
      const base = parseIp(address);
      if (base === null) throw new TypeError(`not an IP address or CIDR range: ${cidr}`);
      const v4 = !address.includes(":");
      const bits = prefix === undefined ? 128 : Number(prefix) + (v4 ? 96 : 0);
      if (
        !Number.isInteger(bits) || bits > 128 || (prefix !== undefined && !/^\d+$/.test(prefix))
      ) {
        throw new TypeError(`not an IP address or CIDR range: ${cidr}`);
      }
      this.#ranges.push({ base, bits });
    }
  }

  /** Whether no proxy is trusted. */
  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Whether `ip` lies in one of the ranges. */
  has(ip: string): boolean {
    if (this.#ranges.length === 0) return false;
    const bytes = parseIp(ip);
    if (bytes === null) return false;
    return this.#ranges.some(({ base, bits }) => {
      for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
        const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
        if ((bytes[i] & mask) !== (base[i] & mask)) return false;
      }
      return true;
    });
  }
}

/** The `for=` addresses of a Forwarded header, in order; null if it is malformed. */
function forwardedFor(header: string): string[] | null {
  const out: string[] = [];
  for (const element of header.split(",")) {
    for (const pair of element.split(";")) {
      const eq = pair.indexOf("=");
      if (eq === -1) continue;
      if (pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"')) {
        if (!value.endsWith('"') || value.length < 2) return null;
        value = value.slice(1, -1);
      }
      // "[v6]:port" or "v4:port" → the address; "unknown" and "_obfuscated" stay as they are.
      const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
      if (bracket) value = bracket[1];
      else if (/^[\d.]+:\d+$/.test(value)) value = value.slice(0, value.indexOf(":"));
      out.push(value);
    }
  }
  return out;
}

/**
 * The client's address for `request`: the peer's, or, when the peer is a trusted proxy, the
 * right-most address in `Forwarded`/`X-Forwarded-For` that is not itself a trusted proxy.
 *
 * @example
 * ```ts
 * import { clientAddress, TrustedProxies } from "./clientip.ts";
 * const request = new Request("http://x/", { headers: { "x-forwarded-for": "203.0.113.7" } });
 * const peer = { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 };
 * clientAddress(request, peer, new TrustedProxies(["127.0.0.1"])); // "203.0.113.7"
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
  let hops: string[] | null = null;
  if (forwarded !== null) hops = forwardedFor(forwarded);
  else {
    const xff = request.headers.get("x-forwarded-for");
    if (xff !== null) hops = xff.split(",").map((s) => s.trim()).filter(Boolean);
  }
  if (hops === null || hops.length === 0) return peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (parseIp(hop) === null) return peer; // "unknown" or garbage: stop trusting the chain
    if (!trusted.has(hop)) return hop;
  }
  return hops[0];
}
