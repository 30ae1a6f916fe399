import assert from "node:assert/strict";
import fc from "fast-check";
import { addressKey, clientAddress, parseIp, TrustedProxies } from "../../lib/handlers/clientip.ts";

const hex = (bytes: Uint8Array | null) =>
  bytes === null ? null : Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const MAPPED = "00000000000000000000ffff";

Deno.test("clientip: parseIp accepts every address form and nothing else", () => {
  const table: [string, string | null][] = [
    ["0.0.0.0", `${MAPPED}00000000`],
    ["1.2.3.4", `${MAPPED}01020304`],
    ["255.255.255.255", `${MAPPED}ffffffff`],
    ["::", "00".repeat(16)],
    ["::1", `${"00".repeat(15)}01`],
    ["1::", `0001${"00".repeat(14)}`],
    ["2001:db8::8a2e:370:7334", "20010db8000000000000" + "8a2e03707334"],
    ["2001:DB8:0:0:0:0:0:1", "20010db8" + "00".repeat(11) + "01"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:7::", "0001000200030004000500060007" + "0000"],
    ["::2:3:4:5:6:7:8", "0000000200030004000500060007" + "0008"],
    ["::ffff:1.2.3.4", `${MAPPED}01020304`], // IPv4-mapped: the same bytes as 1.2.3.4
    ["::FFFF:0102:0304", `${MAPPED}01020304`],
    ["::1.2.3.4", `${"00".repeat(12)}01020304`], // IPv4-compatible (deprecated): not mapped
    ["64:ff9b::192.0.2.33", "0064ff9b" + "00".repeat(8) + "c0000221"],
    ["1:2:3:4:5:6:1.2.3.4", "000100020003000400050006" + "01020304"],
    ["fe80::1%eth0", "fe80" + "00".repeat(13) + "01"], // the zone is ignored
    // Not addresses.
    ["", null],
    [" 1.2.3.4", null],
    ["1.2.3", null],
    ["1.2.3.4.5", null],
    ["256.1.1.1", null],
    ["01.2.3.4", null], // a leading zero reads as octal to some parsers: refuse
    ["1.2.3.-4", null],
    ["1.2.3.4:80", null],
    ["[::1]", null],
    [":", null],
    [":::", null],
    [":1::", null],
    ["1::2::3", null],
    ["1:2:3:4:5:6:7", null],
    ["1:2:3:4:5:6:7:8:9", null],
    ["1:2:3:4:5:6:7:8::", null], // "::" must stand for at least one word
    ["1:2:3:4:5:6:7:8:9::1", null],
    ["12345::", null],
    ["g::", null],
    ["::1.2.3", null],
    ["::1.2.3.4:5", null],
    ["1.2.3.4::", null],
    ["fe80::1%", null],
    ["unknown", null],
    ["localhost", null],
  ];
  for (const [text, expected] of table) assert.equal(hex(parseIp(text)), expected, text);
});

Deno.test("clientip: CIDR matching, IPv4, IPv6 and IPv4-mapped", () => {
  const table: [cidr: string, ip: string, expected: boolean][] = [
    ["10.0.0.0/8", "10.0.0.1", true],
    ["10.0.0.0/8", "10.255.255.255", true],
    ["10.0.0.0/8", "11.0.0.0", false],
    ["10.0.0.0/8", "9.255.255.255", false],
    ["10.9.9.9/8", "10.1.1.1", true], // host bits in the base do not matter
    ["172.16.0.0/12", "172.31.255.255", true],
    ["172.16.0.0/12", "172.32.0.0", false],
    ["192.168.1.128/25", "192.168.1.200", true],
    ["192.168.1.128/25", "192.168.1.127", false],
    ["192.0.2.0/31", "192.0.2.1", true],
    ["192.0.2.0/31", "192.0.2.2", false],
    ["192.168.1.7", "192.168.1.7", true], // a bare address is /32
    ["192.168.1.7", "192.168.1.8", false],
    ["192.168.1.7/32", "192.168.1.7", true],
    ["192.168.1.7/32", "192.168.1.6", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["0.0.0.0/0", "255.255.255.255", true],
    ["0.0.0.0/0", "2001:db8::1", false], // all of IPv4 is not all of IPv6
    ["0.0.0.0/32", "0.0.0.0", true],
    ["128.0.0.0/1", "127.255.255.255", false],
    ["128.0.0.0/1", "128.0.0.0", true],
    // IPv4-mapped IPv6 is the IPv4 address, whichever way round.
    ["10.0.0.0/8", "::ffff:10.1.2.3", true],
    ["10.0.0.0/8", "::ffff:a01:203", true],
    ["10.0.0.0/8", "::ffff:b01:203", false],
    ["::ffff:10.0.0.0/104", "10.200.0.1", true],
    ["::ffff:0:0/96", "198.51.100.1", true],
    ["10.0.0.0/8", "::a01:203", false], // IPv4-compatible is not mapped
    ["::1", "::1", true],
    ["::1", "0:0:0:0:0:0:0:1", true],
    ["::1", "[::1]", true],
    ["::1", "::2", false],
    ["::1", "127.0.0.1", false],
    ["::1/128", "::1", true],
    ["2001:db8::/128", "2001:db8::1", false],
    ["2001:db8::/127", "2001:db8::1", true],
    ["2001:db8::/127", "2001:db8::2", false],
    ["fd00::/8", "fd12:3456::1", true],
    ["fd00::/8", "fe80::1", false],
    ["fe80::/10", "febf::1", true],
    ["fe80::/10", "fec0::1", false],
    ["2001:db8:abcd:12::/64", "2001:db8:abcd:12:ffff:ffff:ffff:ffff", true],
    ["2001:db8:abcd:12::/64", "2001:db8:abcd:13::", false],
    ["::/0", "2001:db8::1", true],
    ["::/0", "1.2.3.4", true], // every address, IPv4 included (it is mapped into IPv6)
    ["[2001:db8::]/32", "2001:db8:ffff::1", true],
    // Not addresses never match, even with everything trusted; only SP and HTAB are trimmed.
    ["::/0", " 1.2.3.4\t", true],
    ["::/0", "\u00a01.2.3.4", false],
    ["::/0", "1.2.3.4\u00a0", false],
    ["::/0", "\u3000::1", false],
    ["::/0", "not an ip", false],
    ["::/0", "", false],
    ["::/0", "999.1.1.1", false],
    ["::/0", "1:2:3:4:5:6:7:8:9", false],
    ["::/0", "1:2:3:4:5:6:7:8:9::1", false],
    ["::/0", "unknown", false],
  ];
  for (const [cidr, ip, expected] of table) {
    assert.equal(new TrustedProxies([cidr]).has(ip), expected, `${ip} in ${cidr}`);
  }
  const several = new TrustedProxies(["10.0.0.0/8", "::1", "fd00::/8"]);
  assert.deepEqual(
    ["10.1.1.1", "::1", "fd00::5", "127.0.0.1"].map((ip) => several.has(ip)),
    [true, true, true, false],
  );
  assert.equal(new TrustedProxies([]).has("127.0.0.1"), false);
  assert.equal(new TrustedProxies([]).empty, true);
  assert.equal(several.empty, false);
});

Deno.test("clientip: invalid ranges are refused when configured", () => {
  const bad = [
    "",
    "nope",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/8/9",
    "1.2.3.4/x",
    "1.2.3.4/ 8x",
    "fd00::/129",
    "fd00::/1000",
    "256.0.0.0/8",
    "example.com/8",
    "1.2.3.4:80",
  ];
  // Only SP and HTAB are trimmed (RFC 9110 §5.6.3), not U+00A0 and the rest of JS's trim().
  bad.push("\u00a010.0.0.0/8", "10.0.0.0/8\u00a0", "10.0.0.0/\u00a08", "\u2028::1", "\ufeff::1");
  for (const cidr of bad) assert.throws(() => new TrustedProxies([cidr]), TypeError, cidr);
  new TrustedProxies(["\t10.0.0.0/8\t", "::1 / 128"]);
  for (const cidr of [" 10.0.0.0/8 ", "::/0", "0.0.0.0/0", "fd00::/128", "1.2.3.4/32"]) {
    new TrustedProxies([cidr]);
  }
});

Deno.test("clientip: matching agrees with integer arithmetic on random addresses", () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const toInt = (p: number[]) => ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
  fc.assert(
    fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (base, ip, bits) => {
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      const expected = ((toInt(base) & mask) >>> 0) === ((toInt(ip) & mask) >>> 0);
      const trusted = new TrustedProxies([`${base.join(".")}/${bits}`]);
      return trusted.has(ip.join(".")) === expected &&
        trusted.has(`::ffff:${ip.join(".")}`) === expected;
    }),
    { numRuns: 2000 },
  );
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
  const toBig = (words: number[]) => words.reduce((n, w) => (n << 16n) | BigInt(w), 0n);
  fc.assert(
    fc.property(v6, v6, fc.integer({ min: 0, max: 128 }), (base, ip, bits) => {
      const all = (1n << 128n) - 1n;
      const mask = bits === 0 ? 0n : (all << BigInt(128 - bits)) & all;
      const expected = (toBig(base) & mask) === (toBig(ip) & mask);
      const text = (w: number[]) => w.map((x) => x.toString(16)).join(":");
      return new TrustedProxies([`${text(base)}/${bits}`]).has(text(ip)) === expected;
    }),
    { numRuns: 2000 },
  );
});

Deno.test("clientip: addressKey folds forms of one client together", () => {
  const table: [string, number, string][] = [
    ["192.0.2.1", 64, "192.0.2.1"],
    ["::ffff:192.0.2.1", 64, "192.0.2.1"],
    ["::ffff:c000:201", 64, "192.0.2.1"],
    ["2001:db8:1:2:aaaa::1", 64, "2001:db8:1:2:0:0:0:0/64"],
    ["2001:db8:1:2:bbbb::9", 64, "2001:db8:1:2:0:0:0:0/64"],
    ["2001:db8:1:3::1", 64, "2001:db8:1:3:0:0:0:0/64"],
    ["2001:db8:1:2:aaaa::1", 128, "2001:db8:1:2:aaaa:0:0:1/128"],
    ["2001:db8:1:2:aaaa::1", 48, "2001:db8:1:0:0:0:0:0/48"],
    ["unknown", 64, "unknown"],
    ["_hidden", 64, "_hidden"],
  ];
  for (const [address, prefix, expected] of table) {
    assert.equal(addressKey(address, prefix), expected, `${address} /${prefix}`);
  }
});

const peer = (hostname: string): Deno.NetAddr => ({ transport: "tcp", hostname, port: 1234 });
const request = (headers: Record<string, string>) => new Request("http://x/", { headers });

Deno.test("clientip: forwarding headers count only from trusted peers, read right to left", () => {
  const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]);
  const table: [headers: Record<string, string>, peer: string, expected: string][] = [
    // An untrusted peer cannot claim another address, in either header.
    [{ "x-forwarded-for": "1.2.3.4" }, "203.0.113.5", "203.0.113.5"],
    [{ forwarded: "for=1.2.3.4" }, "203.0.113.5", "203.0.113.5"],
    [{ "x-forwarded-for": "10.0.0.1" }, "203.0.113.5", "203.0.113.5"],
    // A trusted peer without the headers is the client.
    [{}, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "1.2.3.4" }, "::1", "1.2.3.4"],
    [{ "x-forwarded-for": "1.2.3.4" }, "::ffff:127.0.0.1", "1.2.3.4"], // a dual-stack listener
    // The client prepended fakes; the right-most untrusted hop is who our proxy saw.
    [{ "x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.9" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "10.0.0.1, 1.2.3.4" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "garbage, 1.2.3.4, 10.0.0.9" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "1:2:3:4:5:6:7:8:9::1, 1.2.3.4" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "1.2.3.4,10.0.0.2,,10.0.0.3" }, "127.0.0.1", "1.2.3.4"],
    // Only trusted hops: the left-most is as far back as anyone can tell.
    [{ "x-forwarded-for": "10.0.0.8, 10.0.0.9" }, "127.0.0.1", "10.0.0.8"],
    // Ports and brackets, which some proxies add to X-Forwarded-For.
    [{ "x-forwarded-for": "1.2.3.4:5678" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "[2001:db8::1]:443" }, "127.0.0.1", "2001:db8::1"],
    [{ "x-forwarded-for": "2001:db8::1" }, "127.0.0.1", "2001:db8::1"],
    [{ "x-forwarded-for": "[fd00::2]" }, "127.0.0.1", "fd00::2"],
    // Malformed where we read it: the peer.
    [{ "x-forwarded-for": "garbage" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4, garbage" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4:99999" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "[1.2.3.4]" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1:2:3:4:5:6:7:8:9::1" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4 5.6.7.8" }, "127.0.0.1", "127.0.0.1"],
    // OWS is SP and HTAB (RFC 9110 §5.6.3): other spaces are part of the entry, which is then
    // no address.
    [{ "x-forwarded-for": "\u00a01.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4\u00a0" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "6.6.6.6,\u00a01.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4,\u00a010.0.0.2" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "\u00851.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "6.6.6.6,\t1.2.3.4 \t, 10.0.0.2" }, "127.0.0.1", "1.2.3.4"],
    [{ forwarded: "for=\u00a01.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: 'for="\u00a01.2.3.4"' }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=1.2.3.4\u00a0" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=6.6.6.6,\tfor=1.2.3.4\t;\tproto=http" }, "127.0.0.1", "1.2.3.4"],
    [{ forwarded: "f\u00f6r=1.2.3.4" }, "127.0.0.1", "127.0.0.1"], // a name must be a token
    // Forwarded (RFC 7239 §7 examples and friends).
    [{ forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43" }, "127.0.0.1", "192.0.2.60"],
    [{ forwarded: 'for="_gazonk"' }, "127.0.0.1", "_gazonk"],
    [{ forwarded: 'For="[2001:db8:cafe::17]:4711"' }, "127.0.0.1", "2001:db8:cafe::17"],
    [{ forwarded: 'for="[2001:db8:cafe::17]"' }, "127.0.0.1", "2001:db8:cafe::17"],
    [{ forwarded: 'for="192.0.2.43:47011"' }, "127.0.0.1", "192.0.2.43"],
    [{ forwarded: 'for="[2001:db8::1]:_port"' }, "127.0.0.1", "2001:db8::1"],
    [{ forwarded: "for=192.0.2.43, for=198.51.100.17" }, "127.0.0.1", "198.51.100.17"],
    [{ forwarded: "for=192.0.2.43, for=10.0.0.1" }, "10.1.1.1", "192.0.2.43"],
    [{ forwarded: 'for=192.0.2.43, for="[fd00::1]";by=x' }, "::1", "192.0.2.43"],
    [{ forwarded: "for=192.0.2.43,for=10.0.0.1 , for=10.0.0.2" }, "127.0.0.1", "192.0.2.43"],
    [{ forwarded: 'for="\\1\\.2.3.4"' }, "127.0.0.1", "1.2.3.4"], // quoted-pair
    [{ forwarded: "proto=https;for=192.0.2.7;host=example.com" }, "127.0.0.1", "192.0.2.7"],
    [{ forwarded: "for=[2001:db8::2]:80" }, "127.0.0.1", "2001:db8::2"], // unquoted, tolerated
    // unknown and obfuscated hops name the client, not an address.
    [{ forwarded: "for=unknown" }, "127.0.0.1", "unknown"],
    [{ forwarded: "for=unknown, for=10.0.0.1" }, "127.0.0.1", "unknown"],
    [{ forwarded: "for=_hidden, for=10.0.0.1" }, "127.0.0.1", "_hidden"],
    [{ forwarded: "for=1.2.3.4, by=10.0.0.1" }, "127.0.0.1", "unknown"], // a hop with no for=
    [{ forwarded: "for=1.2.3.4, for=_x, for=10.0.0.1" }, "127.0.0.1", "_x"],
    // Malformed Forwarded: the peer (not a fallback to X-Forwarded-For).
    [{ forwarded: 'for="broken' }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=1.2.3.4;for=5.6.7.8" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=1.2.3.4 junk" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=example.com" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: 'for="[1.2.3.4]"' }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: 'for="[2001:db8::1"' }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: 'for="6.6.6.6, for=1.2.3.4"' }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=bad", "x-forwarded-for": "1.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "", "x-forwarded-for": "1.2.3.4" }, "127.0.0.1", "127.0.0.1"],
    // Forwarded wins over X-Forwarded-For when both are present.
    [{ forwarded: "for=198.51.100.1", "x-forwarded-for": "1.1.1.1" }, "127.0.0.1", "198.51.100.1"],
  ];
  for (const [headers, from, expected] of table) {
    assert.equal(
      clientAddress(request(headers), peer(from), trusted),
      expected,
      `${JSON.stringify(headers)} from ${from}`,
    );
  }
  // Several header lines are one list, in order.
  const twoLines = new Request("http://x/", {
    headers: [["x-forwarded-for", "6.6.6.6, 1.2.3.4"], ["x-forwarded-for", "10.0.0.2"]],
  });
  assert.equal(clientAddress(twoLines, peer("127.0.0.1"), trusted), "1.2.3.4");
});

Deno.test("clientip: arbitrary headers never throw and never name an untrusted peer's choice", () => {
  const trusted = new TrustedProxies(["127.0.0.1"]);
  const headerValue = fc.stringMatching(/^[\x20-\x7e\t]*$/);
  fc.assert(
    fc.property(headerValue, headerValue, fc.boolean(), (xff, fwd, viaProxy) => {
      const headers = new Headers({ "x-forwarded-for": xff });
      if (fwd !== "") headers.set("forwarded", fwd);
      const from = viaProxy ? "127.0.0.1" : "203.0.113.5";
      const client = clientAddress(new Request("http://x/", { headers }), peer(from), trusted);
      if (!viaProxy) return client === from;
      // Whatever comes back is the peer, an address, or an opaque Forwarded identifier.
      return client === from || parseIp(client) !== null || /^(unknown|_[\w.-]+)$/.test(client);
    }),
    { numRuns: 3000 },
  );
});

Deno.test("clientip: whatever a client prepends, the address our proxy saw wins", () => {
  const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
  const fragments = [
    "1.2.3.4",
    "10.0.0.1",
    "::1",
    "[2001:db8::1]",
    ":80",
    ",",
    ", ",
    ";",
    "=",
    '"',
    "\\",
    "for",
    "for=",
    "by=",
    "unknown",
    "_x",
    "[",
    "]",
    " ",
    "999.1.1.1",
    "1:2:3:4:5:6:7:8:9::1",
    "%",
  ];
  const junk = fc.array(fc.constantFrom(...fragments), { maxLength: 12 }).map((a) => a.join(""));
  const real = fc.tuple(fc.integer({ min: 11, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255))
    .map((p) => (p[0] === 127 ? [128, ...p.slice(1)] : p).join(".")); // never trusted
  const proxies = fc.array(fc.constantFrom("10.0.0.2", "10.9.8.7", "127.0.0.1"), {
    maxLength: 3,
  });
  fc.assert(
    fc.property(junk, real, proxies, (prefix, client, hops) => {
      const xff = [prefix, client, ...hops].join(", ");
      const fwd = [prefix, `for=${client}`, ...hops.map((h) => `for=${h}`)].join(", ");
      const viaXff = clientAddress(request({ "x-forwarded-for": xff }), peer("127.0.0.1"), trusted);
      const viaFwd = clientAddress(request({ forwarded: fwd }), peer("127.0.0.1"), trusted);
      // X-Forwarded-For is read entry by entry from the right: the prefix never matters.
      // Forwarded has quoted strings, so a prefix can make the whole header unreadable; then
      // the peer is the answer, never the prefix's choice.
      return viaXff === client && (viaFwd === client || viaFwd === "127.0.0.1");
    }),
    { numRuns: 5000 },
  );
});
