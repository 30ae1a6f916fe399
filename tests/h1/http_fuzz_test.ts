/**
 * Property tests for `lib/http.ts` (fast-check). For random bytes, for an "HTTP soup" of the
 * pieces requests are made of, and for mutated valid requests and chunked bodies:
 *
 * - the request-head parser returns a head, returns null (needs more bytes), or throws an
 *   `HttpError` whose status is one of 400, 413, 414, 417, 431, 501, 505, and nothing else;
 * - it returns (a loop would hang the run, and every case here is bounded);
 * - how the bytes are split (all at once, byte by byte into a growing buffer, or at random cut
 *   points) never changes the outcome: the same head and `consumed`, or the same status;
 * - the same holds for `ChunkedDecoder`, with the same body, trailers and bytes consumed;
 * - generated valid requests and chunked bodies parse to exactly what was generated.
 *
 * Limits are drawn at random as well (small ones included), so that 413, 414 and 431 are reached
 * at every point of a head and the order they are checked in is exercised.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkedDecoder } from "../../lib/h1/chunked.ts";
import { DEFAULT_LIMITS, HttpError, type Limits } from "../../lib/h1/errors.ts";
import { type RequestHead, RequestHeadParser, type TargetForm } from "../../lib/h1/request_head.ts";

const STATUSES: ReadonlySet<number> = new Set([400, 413, 414, 417, 431, 501, 505]);

/** Kept small so the whole file runs in a few seconds. */
const RUNS = { numRuns: 300 };

const latin1Bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
const latin1Text = (bytes: ArrayLike<number>) =>
  Array.from(bytes, (b) => String.fromCharCode(b)).join("");

/** An error the parsers may throw: an `HttpError` with a status they map to. Else rethrown. */
function statusOf(error: unknown): number {
  if (error instanceof HttpError && STATUSES.has(error.status)) return error.status;
  throw error;
}

// ---- Limits ---------------------------------------------------------------------------------

const limitsArb: fc.Arbitrary<Limits> = fc.oneof(
  { arbitrary: fc.constant({ ...DEFAULT_LIMITS }), weight: 3 },
  {
    arbitrary: fc.record({
      maxHeadBytes: fc.oneof(
        fc.integer({ min: 8, max: 64 }),
        fc.integer({ min: 64, max: 400 }),
        fc.integer({ min: 400, max: 16384 }),
      ),
      maxTargetBytes: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 40, max: 500 })),
      maxHeaders: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 5, max: 100 })),
      maxBodyBytes: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(1 << 30)),
      maxChunkLineBytes: fc.oneof(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 16, max: 200 }),
      ),
      maxTrailerBytes: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 16, max: 200 })),
    }),
    weight: 2,
  },
);

/** Sorted, distinct cut points inside `[1, length)`. */
function cutsWithin(length: number, raw: number[]): number[] {
  return [...new Set(raw.map((c) => (length === 0 ? 0 : c % length)).filter((c) => c > 0))]
    .sort((a, b) => a - b);
}

const rawCuts = fc.array(fc.nat(), { maxLength: 8 });

// ---- Request heads --------------------------------------------------------------------------

type HeadOutcome = { head: RequestHead; consumed: number } | { error: number } | "more";

/**
 * Feeds `bytes` into one buffer as the connection does: at each cut the bytes so far have arrived
 * and `parse(buf, 0, end)` is called; the bytes not yet arrived are zeros, not the real ones.
 */
function parseFed(bytes: Uint8Array, limits: Limits, cuts: number[]): HeadOutcome {
  const parser = new RequestHeadParser(limits);
  const buf = new Uint8Array(bytes.length);
  let have = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      buf.set(bytes.subarray(have, end), have);
      have = end;
      const result = parser.parse(buf, 0, end);
      if (result !== null) {
        assert.ok(result.consumed > 0 && result.consumed <= end, "consumed within what was fed");
        assert.equal(bytes[result.consumed - 1], 0x0a, "a head ends with its blank line's LF");
        return result;
      }
    }
    return "more";
  } catch (error) {
    return { error: statusOf(error) };
  }
}

const everyByte = (n: number) => Array.from({ length: Math.max(0, n - 1) }, (_, i) => i + 1);

/** Whole, byte by byte and at `cuts` must agree; returns the outcome. */
function parseEveryWay(bytes: Uint8Array, limits: Limits, raw: number[]): HeadOutcome {
  const whole = parseFed(bytes, limits, []);
  assert.deepEqual(parseFed(bytes, limits, everyByte(bytes.length)), whole, "byte by byte");
  assert.deepEqual(parseFed(bytes, limits, cutsWithin(bytes.length, raw)), whole, "cuts");
  return whole;
}

/** Bytes that requests are made of, so random input gets past the request line often. */
const HEAD_PIECES = [
  "GET",
  "POST",
  "CONNECT",
  "OPTIONS",
  " ",
  "  ",
  "\t",
  "/",
  "/a?b=c",
  "*",
  "http://h/",
  "h:80",
  "#",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "HTTP/1.x",
  "\r\n",
  "\r\n",
  "\r\n\r\n",
  "\r\n\r\n",
  "\n",
  "\n\n",
  "\r",
  "\x00",
  "\x7f",
  "\xe9",
  ":",
  ": ",
  ",",
  "Host",
  "Host: a\r\n",
  "Content-Length",
  "Content-Length: 5\r\n",
  "Transfer-Encoding",
  "Transfer-Encoding: chunked\r\n",
  "chunked",
  "gzip",
  "Connection: close\r\n",
  "keep-alive",
  "Expect: 100-continue\r\n",
  "Expect",
  "100-continue",
  "0",
  "5",
  "-1",
  "99999999999999999999",
  "x",
  "X-Y",
];
const headSoup = fc.array(fc.constantFrom(...HEAD_PIECES), {
  minLength: 3,
  maxLength: 40,
  size: "max",
}).map((
  pieces,
) => latin1Bytes(pieces.join("")));

// A structured request whose every part may be valid or not.
const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/);
const headerValueArb = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,16}[\x21-\x7e])?$/);
const fieldArb: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.tuple(tokenArb, headerValueArb).map(([n, v]) => `${n}: ${v}`),
    weight: 12,
  },
  fc.constantFrom("Host: a", "Host: example.com:8080", "Host: [::1]", "Host:", "Host: a b"),
  fc.constantFrom("0", "5", "007", "5, 5", "5, 6", "+5", "-1", "0x5", "", "1000", "1".repeat(20))
    .map((v) => `Content-Length: ${v}`),
  fc.constantFrom(
    "chunked",
    "Chunked",
    "gzip, chunked",
    "chunked, gzip",
    "chunked, chunked",
    "identity",
    "",
    " , chunked",
  ).map((v) => `Transfer-Encoding: ${v}`),
  fc.constantFrom("close", "keep-alive", "Keep-Alive, close", "upgrade", "")
    .map((v) => `Connection: ${v}`),
  fc.constantFrom("100-continue", "100-Continue", "200-ok", "", "100-continue, x")
    .map((v) => `Expect: ${v}`),
);
/** Method and target pairs, mostly fitting (RFC 9112 §3.2), some not. */
const requestLineArb = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      "GET /",
      "POST /a/b?c",
      "OPTIONS *",
      "GET http://h/x",
      "CONNECT h:443",
      "CONNECT [::1]:80",
      "HEAD /x",
    ),
    weight: 6,
  },
  fc.tuple(tokenArb, fc.constantFrom("/", "*", "ftp://h/", "h:443", "a", "/#f")).map(
    ([method, target]) => `${method} ${target}`,
  ),
);
const requestArb = fc.record({
  leading: fc.constantFrom("", "", "", "\r\n", "\n", "\r\n\r\n"),
  line: requestLineArb,
  version: fc.constantFrom(
    "HTTP/1.1",
    "HTTP/1.1",
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/1.0",
    "HTTP/1.2",
    "HTTP/2.0",
    "http/1.1",
  ),
  host: fc.constantFrom("Host: a", "Host: a", "Host: a", ""),
  fields: fc.array(fieldArb, { maxLength: 6 }),
  duplicate: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, fc.nat()),
  eol: fc.constantFrom("\r\n", "\r\n", "\n"),
  after: fc.constantFrom("", "hello", "GET / HTTP/1.1\r\n", "\r\n"),
}).map((r) => {
  const fields = r.host ? [r.host, ...r.fields] : [...r.fields];
  if (r.duplicate !== undefined && fields.length > 0) {
    fields.splice(r.duplicate % fields.length, 0, fields[r.duplicate % fields.length]);
  }
  const lines = [`${r.line} ${r.version}`, ...fields, ""];
  return r.leading + lines.map((l) => l + r.eol).join("") + r.after;
});

// Mutations: overwrite, insert or delete bytes, favouring bytes that matter to HTTP framing.
const specialByte = fc.constantFrom(
  0x0d,
  0x0a,
  0x00,
  0x20,
  0x09,
  0x3a,
  0x2c,
  0x7f,
  0xff,
  0x22,
  0x3b,
);
const mutationArb = fc.record({
  kind: fc.constantFrom("flip", "insert", "delete"),
  at: fc.nat(),
  byte: fc.oneof(specialByte, fc.integer({ min: 0, max: 255 })),
});
type Mutation = { kind: string; at: number; byte: number };

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  const array = [...bytes];
  for (const m of mutations) {
    const at = m.at % (array.length + 1);
    if (m.kind === "insert") array.splice(at, 0, m.byte);
    else if (at < array.length) {
      if (m.kind === "flip") array[at] = m.byte;
      else array.splice(at, 1);
    }
  }
  return Uint8Array.from(array);
}

/** Random bytes, a fifth of them line ends so that lines get finished. */
const randomBytes = fc.array(
  fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 8 },
    { arbitrary: fc.constantFrom(0x0a, 0x0d), weight: 2 },
  ),
  { maxLength: 300, size: "max" },
).map((a) => Uint8Array.from(a));

Deno.test("fuzz head: random bytes, whole, byte by byte or cut anywhere, agree", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 300, size: "max" }), randomBytes),
      limitsArb,
      rawCuts,
      (bytes, limits, cuts) => {
        parseEveryWay(bytes, limits, cuts);
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz head: a soup of request pieces, however split, agrees", () => {
  fc.assert(
    fc.property(headSoup, limitsArb, rawCuts, (bytes, limits, cuts) => {
      parseEveryWay(bytes, limits, cuts);
    }),
    { numRuns: 600 },
  );
});

Deno.test("fuzz head: mutated requests (CL/TE combos, duplicates, CR/LF/NUL/SP) agree", () => {
  fc.assert(
    fc.property(
      requestArb,
      fc.oneof(fc.constant([]), fc.array(mutationArb, { maxLength: 4 })),
      limitsArb,
      rawCuts,
      (text, mutations, limits, cuts) => {
        parseEveryWay(mutate(latin1Bytes(text), mutations), limits, cuts);
      },
    ),
    { numRuns: 600 },
  );
});

Deno.test("fuzz head: bytes after a complete head never change it", () => {
  fc.assert(
    fc.property(
      requestArb,
      limitsArb,
      fc.uint8Array({ minLength: 1, maxLength: 50 }),
      (text, limits, extra) => {
        const bytes = latin1Bytes(text);
        const alone = parseFed(bytes, limits, []);
        if (typeof alone !== "object" || !("head" in alone)) return;
        const more = new Uint8Array(bytes.length + extra.length);
        more.set(bytes);
        more.set(extra, bytes.length);
        assert.deepEqual(parseFed(more, limits, []), alone);
      },
    ),
    RUNS,
  );
});

// ---- Round trip: generated valid requests parse to exactly their fields ----------------------

/** Names the parser gives meaning to; the round trip adds them on purpose, not at random. */
const SPECIAL_NAMES = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
]);

const fieldNameArb = tokenArb.filter((n) => !SPECIAL_NAMES.has(n.toLowerCase()));
/** field-value: VCHAR and obs-text, with SP and HTAB only inside (RFC 9110 §5.5). */
const fieldValueArb = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0x21, max: 0x7e }),
      fc.integer({ min: 0x80, max: 0xff }),
      fc.constantFrom(0x20, 0x09),
    ),
    { maxLength: 24 },
  )
  .map((codes) => latin1Text(codes).replace(/^[ \t]+|[ \t]+$/g, ""));
const owsArb = fc.constantFrom("", " ", "  ", "\t", " \t ");
/** Host = uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name or an IP-literal, maybe a port. */
const hostArb = fc.tuple(
  fc.oneof(
    fc.stringMatching(/^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2}){0,16}$/),
    fc.constantFrom("[::1]", "[2001:db8::1]", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:7:8]", "[v1.x]"),
  ),
  fc.option(fc.stringMatching(/^[0-9]{0,5}$/), { nil: undefined }),
).map(([host, port]) => (port === undefined ? host : `${host}:${port}`));
/** Target characters: VCHAR without "#". */
const targetTextArb = fc.stringMatching(/^[\x21\x22\x24-\x7e]{0,30}$/);

interface Generated {
  method: string;
  target: string;
  form: TargetForm;
  minorVersion: 0 | 1;
  host: string | undefined;
  fields: [string, string, string, string][]; // name as sent, value, OWS before, OWS after
  contentLength: number | undefined;
  leadingZeros: number;
  connection: string[];
  expectContinue: boolean;
  eols: ("\r\n" | "\n")[];
}

const targetArb: fc.Arbitrary<{ method: string; target: string; form: TargetForm }> = fc.oneof(
  fc.tuple(tokenArb.filter((m) => m !== "CONNECT"), targetTextArb).map(([method, t]) => ({
    method,
    target: `/${t}`,
    form: "origin" as const,
  })),
  fc.constant({ method: "OPTIONS", target: "*", form: "asterisk" as const }),
  fc.tuple(
    tokenArb.filter((m) => m !== "CONNECT"),
    fc.constantFrom("http", "https", "HTTP"),
    fc.stringMatching(/^[a-z0-9.-]{1,12}$/),
    targetTextArb,
  ).map(([method, scheme, host, path]) => ({
    method,
    target: `${scheme}://${host}/${path}`,
    form: "absolute" as const,
  })),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9.-]{1,12}$/), fc.integer({ min: 0, max: 65535 })).map((
    [host, port],
  ) => ({ method: "CONNECT", target: `${host}:${port}`, form: "authority" as const })),
);

const generatedArb: fc.Arbitrary<Generated> = fc
  .record({
    t: targetArb,
    minorVersion: fc.constantFrom(0 as const, 1 as const),
    host: fc.option(hostArb, { nil: undefined }),
    fields: fc.array(fc.tuple(fieldNameArb, fieldValueArb, owsArb, owsArb), { maxLength: 10 }),
    contentLength: fc.option(fc.integer({ min: 0, max: 1 << 20 }), { nil: undefined }),
    leadingZeros: fc.integer({ min: 0, max: 3 }),
    connection: fc.array(fc.constantFrom("close", "keep-alive", "Keep-Alive", "upgrade", "te"), {
      maxLength: 3,
    }),
    expectContinue: fc.boolean(),
    eols: fc.array(fc.constantFrom("\r\n" as const, "\n" as const), {
      minLength: 16,
      maxLength: 16,
    }),
  })
  .map(({ t, host, minorVersion, ...rest }) => ({
    ...t,
    ...rest,
    minorVersion,
    // HTTP/1.1 needs exactly one Host; HTTP/1.0 may go without.
    host: minorVersion === 1 ? host ?? "example.com" : host,
  }));

/** The generated request as bytes, and the header list the parser must produce. */
function render(g: Generated): { text: string; headers: [string, string][] } {
  const lines: string[] = [];
  const headers: [string, string][] = [];
  const add = (name: string, value: string, before = " ", after = "") => {
    lines.push(`${name}:${before}${value}${after}`);
    headers.push([name.toLowerCase(), value]);
  };
  if (g.host !== undefined) add("Host", g.host);
  for (const [name, value, before, after] of g.fields) add(name, value, before, after);
  if (g.contentLength !== undefined) {
    add("Content-Length", "0".repeat(g.leadingZeros) + g.contentLength);
  }
  if (g.connection.length > 0) add("Connection", g.connection.join(", "));
  if (g.expectContinue) add("Expect", "100-continue");
  const all = [`${g.method} ${g.target} HTTP/1.${g.minorVersion}`, ...lines, ""];
  const text = all.map((l, i) => l + g.eols[i % g.eols.length]).join("");
  return { text, headers };
}

Deno.test("fuzz head: generated valid requests parse to exactly their fields", () => {
  fc.assert(
    fc.property(generatedArb, rawCuts, (g, cuts) => {
      const { text, headers } = render(g);
      const out = parseEveryWay(latin1Bytes(text), DEFAULT_LIMITS, cuts);
      assert.ok(typeof out === "object" && "head" in out, `${JSON.stringify(out)} for ${text}`);
      const tokens = g.connection.map((t) => t.toLowerCase());
      assert.deepEqual(out, {
        consumed: text.length,
        head: {
          method: g.method,
          target: g.target,
          form: g.form,
          minorVersion: g.minorVersion,
          headers,
          host: g.host ?? "",
          framing: g.contentLength ? { kind: "length", length: g.contentLength } : { kind: "none" },
          keepAlive: g.minorVersion === 1
            ? !tokens.includes("close")
            : tokens.includes("keep-alive") && !tokens.includes("close"),
          expectContinue: g.expectContinue && g.minorVersion === 1,
        },
      });
    }),
    RUNS,
  );
});

// ---- Chunked bodies -------------------------------------------------------------------------

type ChunkOutcome =
  | { body: string; trailers: [string, string][]; consumed: number; done: boolean }
  | { error: number };

/** Feeds `bytes` in pieces; each call offers everything not yet consumed up to the next cut. */
function decodeFed(bytes: Uint8Array, limits: Limits, cuts: number[]): ChunkOutcome {
  const decoder = new ChunkedDecoder(limits);
  let body = "";
  let consumed = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      if (decoder.done) break;
      const out: Uint8Array[] = [];
      const n = decoder.decode(bytes, consumed, end, out);
      if (!decoder.done) assert.equal(n, end - consumed, "every byte offered is taken");
      for (const piece of out) body += latin1Text(piece);
      consumed += n;
    }
  } catch (error) {
    return { error: statusOf(error) };
  }
  return { body, trailers: decoder.trailers, consumed, done: decoder.done };
}

function decodeEveryWay(bytes: Uint8Array, limits: Limits, raw: number[]): ChunkOutcome {
  const whole = decodeFed(bytes, limits, []);
  assert.deepEqual(decodeFed(bytes, limits, everyByte(bytes.length)), whole, "byte by byte");
  assert.deepEqual(decodeFed(bytes, limits, cutsWithin(bytes.length, raw)), whole, "cuts");
  return whole;
}

interface GeneratedChunks {
  chunks: { data: string; upper: boolean; zeros: number; ext: string }[];
  lastExt: string;
  trailers: [string, string][];
  after: string;
}

const chunkExtArb = fc.constantFrom(
  "",
  "",
  ";a",
  ";a=1",
  " ; a = b ;c",
  ';q="x \\" y"',
  ';n=""',
  "\t;x",
);
const chunkDataArb = fc.array(fc.integer({ min: 0, max: 255 }), {
  minLength: 1,
  maxLength: 40,
  size: "max",
})
  .map(latin1Text);
const generatedChunksArb: fc.Arbitrary<GeneratedChunks> = fc.record({
  chunks: fc.array(
    fc.record({
      data: fc.oneof(chunkDataArb, fc.constantFrom("\r\n", "0\r\n\r\n", "\n", "\r")),
      upper: fc.boolean(),
      zeros: fc.integer({ min: 0, max: 3 }),
      ext: chunkExtArb,
    }),
    { maxLength: 6 },
  ),
  lastExt: chunkExtArb,
  trailers: fc.array(fc.tuple(fieldNameArb.map((n) => n.toLowerCase()), fieldValueArb), {
    maxLength: 3,
  }),
  after: fc.constantFrom("", "GET / HTTP/1.1\r\n", "\r\n", "0\r\n\r\n"),
});

function renderChunks(g: GeneratedChunks): string {
  let text = "";
  for (const c of g.chunks) {
    let size = c.data.length.toString(16);
    if (c.upper) size = size.toUpperCase();
    text += `${"0".repeat(c.zeros)}${size}${c.ext}\r\n${c.data}\r\n`;
  }
  text += `0${g.lastExt}\r\n`;
  for (const [name, value] of g.trailers) text += `${name}: ${value}\r\n`;
  return text + "\r\n";
}

/** Bytes chunked bodies are made of. */
const CHUNK_PIECES = [
  "0",
  "5",
  "a",
  "F",
  "10",
  "\r\n",
  "\r\n",
  "\r",
  "\n",
  ";",
  "=",
  '"',
  " ",
  "x",
];
const chunkSoup = fc.array(fc.constantFrom(...CHUNK_PIECES, "hello", "X: 1\r\n"), {
  maxLength: 40,
  size: "max",
})
  .map((pieces) => latin1Bytes(pieces.join("")));

Deno.test("fuzz chunked: random bytes and chunk soup, however split, agree", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.uint8Array({ maxLength: 200, size: "max" }), chunkSoup),
      limitsArb,
      rawCuts,
      (bytes, limits, cuts) => {
        decodeEveryWay(bytes, limits, cuts);
      },
    ),
    { numRuns: 600 },
  );
});

Deno.test("fuzz chunked: mutated valid bodies, however split, agree", () => {
  fc.assert(
    fc.property(
      generatedChunksArb,
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      limitsArb,
      rawCuts,
      (g, mutations, limits, cuts) => {
        decodeEveryWay(mutate(latin1Bytes(renderChunks(g) + g.after), mutations), limits, cuts);
      },
    ),
    RUNS,
  );
});

Deno.test("fuzz chunked: generated valid bodies decode to exactly their data and trailers", () => {
  fc.assert(
    fc.property(generatedChunksArb, rawCuts, (g, cuts) => {
      const text = renderChunks(g);
      const out = decodeEveryWay(latin1Bytes(text + g.after), DEFAULT_LIMITS, cuts);
      assert.deepEqual(out, {
        body: g.chunks.map((c) => c.data).join(""),
        trailers: g.trailers,
        consumed: text.length,
        done: true,
      });
    }),
    RUNS,
  );
});
