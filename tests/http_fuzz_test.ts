/**
 * Property tests for the parsers (fast-check): for random and mutated input, the request-head
 * parser and the chunked decoder return a result, ask for more bytes, or raise an `HttpError`
 * with one of the statuses they map to, never anything else; they always return; and how the
 * bytes are split never changes the outcome.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkedDecoder, HttpError, RequestHeadParser } from "../lib/http.ts";

const STATUSES = new Set([400, 413, 414, 417, 431, 501, 505]);
const RUNS = { numRuns: 400 };

type Outcome = { ok: string; consumed: number } | { status: number } | "more";

/** Feeds `bytes` in the pieces `cuts` describes, as the connection would. */
function parseHead(bytes: Uint8Array, cuts: number[]): Outcome {
  const parser = new RequestHeadParser();
  try {
    for (
      const end of [
        ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
        bytes.length,
      ]
    ) {
      const result = parser.parse(bytes, 0, end);
      if (result !== null) {
        const { head } = result;
        return {
          ok: JSON.stringify([
            head.method,
            head.target,
            head.minorVersion,
            head.headers,
            head.framing,
          ]),
          consumed: result.consumed,
        };
      }
    }
    return "more";
  } catch (error) {
    if (error instanceof HttpError && STATUSES.has(error.status)) return { status: error.status };
    throw error; // anything else fails the property
  }
}

function decodeChunked(bytes: Uint8Array, cuts: number[]): Outcome {
  const decoder = new ChunkedDecoder({
    maxHeadBytes: 16384,
    maxTargetBytes: 8192,
    maxHeaders: 100,
    maxBodyBytes: 1 << 20,
    maxChunkLineBytes: 256,
    maxTrailerBytes: 1024,
  });
  const out: Uint8Array[] = [];
  let start = 0;
  try {
    for (
      const end of [
        ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b),
        bytes.length,
      ]
    ) {
      if (end <= start) continue;
      start += decoder.decode(bytes, start, end, out);
      if (decoder.done) break;
    }
  } catch (error) {
    if (error instanceof HttpError && STATUSES.has(error.status)) return { status: error.status };
    throw error;
  }
  if (!decoder.done) return "more";
  const body = out.map((p) => String.fromCharCode(...p)).join("");
  return { ok: JSON.stringify([body, decoder.trailers]), consumed: start };
}

const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

// Valid requests to mutate: pieces a real request is made of.
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const path = fc.stringMatching(/^\/[A-Za-z0-9._~%!$&'()*+,;=:@\/?-]{0,30}$/);
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
const validRequest = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS"),
  target: path,
  headers: fc.array(fc.tuple(token, value), { maxLength: 8 }),
  framing: fc.constantFrom(
    "",
    "Content-Length: 5\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
  ),
}).map(({ method, target, headers, framing }) =>
  `${method} ${target} HTTP/1.1\r\nHost: example.com\r\n` +
  headers.map(([n, v]) => `${n}: ${v}\r\n`).join("") + framing + "\r\n"
);

// Mutations: flip, insert or delete bytes, with bytes that matter to HTTP framing.
const special = fc.constantFrom(0x0d, 0x0a, 0x00, 0x20, 0x09, 0x3a, 0x7f, 0xff, 0x22, 0x3b);
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    byte: fc.oneof(special, fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    byte: fc.oneof(special, fc.integer({ min: 0, max: 255 })),
  }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), byte: fc.constant(0) }),
);

function mutate(
  bytes: Uint8Array,
  mutations: { kind: string; at: number; byte: number }[],
): Uint8Array {
  const array = [...bytes];
  for (const m of mutations) {
    const at = array.length === 0 ? 0 : m.at % array.length;
    if (m.kind === "flip") array[at] = m.byte;
    else if (m.kind === "insert") array.splice(at, 0, m.byte);
    else array.splice(at, 1);
  }
  return Uint8Array.from(array);
}

const cutsArb = fc.array(fc.nat({ max: 400 }), { maxLength: 6 });

Deno.test("fuzz: random bytes give a head, 'more', or a typed error, however they are split", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), cutsArb, (bytes, cuts) => {
      assert.deepEqual(parseHead(bytes, cuts), parseHead(bytes, []));
    }),
    RUNS,
  );
});

Deno.test("fuzz: mutated valid requests give a head, 'more', or a typed error, split anywhere", () => {
  fc.assert(
    fc.property(
      validRequest,
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      cutsArb,
      (text, mutations, cuts) => {
        const bytes = mutate(latin1(text), mutations);
        assert.deepEqual(parseHead(bytes, cuts), parseHead(bytes, []));
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz: generated valid requests parse to exactly their fields", () => {
  fc.assert(
    fc.property(validRequest, cutsArb, (text, cuts) => {
      const outcome = parseHead(latin1(text), cuts);
      if (text.includes("Content-Length: 5\r\nTransfer-Encoding")) {
        assert.deepEqual(outcome, { status: 400 }, "CL with TE is refused");
        return;
      }
      assert.ok(typeof outcome === "object" && "ok" in outcome, JSON.stringify(outcome));
      assert.equal(outcome.consumed, text.length);
      const [method, target, minor, headers] = JSON.parse(outcome.ok);
      const lines = text.split("\r\n");
      const [m, t] = lines[0].split(" ");
      assert.equal(method, m);
      assert.equal(target, t);
      assert.equal(minor, 1);
      const expected = lines.slice(1).filter((l) => l !== "").map((l) => {
        const colon = l.indexOf(":");
        return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
      });
      assert.deepEqual(headers, expected);
    }),
    RUNS,
  );
});

const chunkedBody = fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 5 }).map((
  parts,
) => parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join("") + "0\r\n\r\n");

Deno.test("fuzz: chunked bodies, valid or mutated, decode the same however split", () => {
  fc.assert(
    fc.property(
      chunkedBody,
      fc.array(mutation, { maxLength: 3 }),
      cutsArb,
      (text, mutations, cuts) => {
        const bytes = mutate(latin1(text), mutations);
        const whole = decodeChunked(bytes, []);
        assert.deepEqual(decodeChunked(bytes, cuts), whole);
        if (mutations.length === 0) {
          assert.ok(typeof whole === "object" && "ok" in whole, "a valid body decodes");
          assert.equal(whole.consumed, bytes.length);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz: random bytes into the chunked decoder never throw anything but HttpError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), cutsArb, (bytes, cuts) => {
      assert.deepEqual(decodeChunked(bytes, cuts), decodeChunked(bytes, []));
    }),
    RUNS,
  );
});
