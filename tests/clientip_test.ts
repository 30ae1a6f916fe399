import assert from "node:assert/strict";
import { clientAddress, TrustedProxies } from "../lib/clientip.ts";

Deno.test("clientip: CIDR matching, IPv4 and IPv6", () => {
  const trusted = new TrustedProxies([
    "10.0.0.0/8",
    "192.168.1.7",
    "::1",
    "fd00::/8",
    "0.0.0.0/32",
  ]);
  const table: [string, boolean][] = [
    ["10.0.0.1", true],
    ["10.255.255.255", true],
    ["11.0.0.0", false],
    ["192.168.1.7", true],
    ["192.168.1.8", false],
    ["::1", true],
    ["::2", false],
    ["[::1]", true],
    ["::ffff:10.1.2.3", true], // IPv4-mapped IPv6 matches the IPv4 range
    ["::ffff:0a01:0203", true],
    ["fd12:3456::1", true],
    ["fe80::1", false],
    ["0.0.0.0", true],
    ["not an ip", false],
    ["999.1.1.1", false],
    ["1:2:3:4:5:6:7:8:9", false],
    ["", false],
  ];
  for (const [ip, expected] of table) assert.equal(trusted.has(ip), expected, ip);
  assert.equal(new TrustedProxies(["0.0.0.0/0"]).has("203.0.113.9"), true);
  assert.equal(new TrustedProxies(["::/0"]).has("2001:db8::1"), true);
  assert.equal(new TrustedProxies(["2001:db8::/128"]).has("2001:db8::1"), false);
  assert.equal(new TrustedProxies([]).has("127.0.0.1"), false);
  for (const bad of ["10.0.0.0/33", "fd00::/129", "nope", "1.2.3.4/x"]) {
    assert.throws(() => new TrustedProxies([bad]), TypeError, bad);
  }
});

const peer = (hostname: string): Deno.NetAddr => ({ transport: "tcp", hostname, port: 1234 });
const request = (headers: Record<string, string>) => new Request("http://x/", { headers });

Deno.test("clientip: forwarding headers count only from trusted peers, read right to left", () => {
  const trusted = new TrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
  const table: [Record<string, string>, string, string][] = [
    // An untrusted peer cannot claim another address.
    [{ "x-forwarded-for": "1.2.3.4" }, "203.0.113.5", "203.0.113.5"],
    [{}, "127.0.0.1", "127.0.0.1"],
    [{ "x-forwarded-for": "1.2.3.4" }, "127.0.0.1", "1.2.3.4"],
    // The client prepended a fake; the right-most untrusted hop is the real client.
    [{ "x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.9" }, "127.0.0.1", "1.2.3.4"],
    [{ "x-forwarded-for": "10.0.0.8, 10.0.0.9" }, "127.0.0.1", "10.0.0.8"],
    [{ "x-forwarded-for": "garbage" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43" }, "127.0.0.1", "192.0.2.60"],
    [{ forwarded: 'for="[2001:db8:cafe::17]:4711"' }, "127.0.0.1", "2001:db8:cafe::17"],
    [{ forwarded: "for=192.0.2.43, for=10.0.0.1" }, "10.1.1.1", "192.0.2.43"],
    [{ forwarded: "for=unknown" }, "127.0.0.1", "127.0.0.1"],
    [{ forwarded: 'for="broken' }, "127.0.0.1", "127.0.0.1"],
    // Forwarded wins over X-Forwarded-For when both are present.
    [{ forwarded: "for=198.51.100.1", "x-forwarded-for": "1.1.1.1" }, "127.0.0.1", "198.51.100.1"],
  ];
  for (const [headers, from, expected] of table) {
    assert.equal(
      clientAddress(request(headers), peer(from), trusted),
      expected,
      JSON.stringify(headers),
    );
  }
});
