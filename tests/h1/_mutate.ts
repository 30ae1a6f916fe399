/**
 * Seeded mutations of valid HTTP/1.1 requests and chunked bodies, for the differential tests
 * (tests/h1/differential_test.ts against the RFC oracle, scripts/differential.ts and
 * tests/e2e/differential_nginx_test.ts against nginx and Deno.serve over sockets).
 *
 * Requests are kept as parts (method, target, version, field lines, line endings) so that bytes
 * can be put where they matter: CR, LF, NUL, VT, FF, NEL (0x85), NBSP (0xA0) into the method,
 * target, version, field names and values, chunk sizes and extensions; framing fields duplicated,
 * emptied and combined; obs-fold; case changes; whitespace around the colon. Then some raw byte
 * flips, insertions and deletions on the serialized bytes. Strings hold one char per byte.
 */

/** mulberry32: a small seeded PRNG, so every run makes the same cases. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Bytes the issue names, and the grammar's own delimiters. */
export const SPECIAL = [
  "\r",
  "\n",
  "\x00",
  "\x0b",
  "\x0c",
  "\x85",
  "\xa0",
  " ",
  "\t",
  "\r\n",
  "\r\n ",
  ",",
  ";",
  "=",
  '"',
  ":",
  "\\",
  "@",
  "#",
  "%",
  "[",
  "]",
  "/",
  "?",
  "\x7f",
  "\xff",
  "\x01",
  "0",
  "f",
  "-",
  "+",
] as const;

export interface Field {
  name: string;
  /** What separates name and value: ": " normally. */
  sep: string;
  value: string;
  eol: string;
}

export interface Req {
  lead: string;
  method: string;
  target: string;
  version: string;
  eol: string;
  fields: Field[];
  end: string;
  body: string;
}

const f = (name: string, value: string): Field => ({ name, sep: ": ", value, eol: "\r\n" });

/** Valid requests the mutations start from. */
export function seeds(): Req[] {
  const req = (
    method: string,
    target: string,
    fields: Field[],
    body = "",
    version = "HTTP/1.1",
  ): Req => ({ lead: "", method, target, version, eol: "\r\n", fields, end: "\r\n", body });
  return [
    req("GET", "/", [f("Host", "example.com")]),
    req("GET", "/a/b?c=d&e=%20", [
      f("Host", "example.com:8080"),
      f("User-Agent", "curl/8.0"),
      f("Accept", "*/*"),
    ]),
    req("POST", "/upload", [
      f("Host", "a"),
      f("Content-Length", "5"),
      f("Content-Type", "text/plain"),
    ], "hello"),
    req(
      "POST",
      "/c",
      [f("Host", "a"), f("Transfer-Encoding", "chunked")],
      "5\r\nhello\r\n0\r\n\r\n",
    ),
    req(
      "PUT",
      "/c",
      [f("Host", "a"), f("Transfer-Encoding", "chunked"), f("Expect", "100-continue")],
      "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\n",
    ),
    req("GET", "/old", [], "", "HTTP/1.0"),
    req("POST", "/old", [f("Content-Length", "3")], "abc", "HTTP/1.0"),
    req("OPTIONS", "*", [f("Host", "a")]),
    req("CONNECT", "example.com:443", [f("Host", "example.com:443")]),
    req("GET", "http://example.com:8080/x?y", [f("Host", "example.com:8080")]),
    req("GET", "/v6", [f("Host", "[::1]:8080"), f("Connection", "keep-alive")]),
    req("POST", "/e", [
      f("Host", "a"),
      f("Content-Length", "2"),
      f("Expect", "100-continue"),
    ], "hi"),
    req("DELETE", "/x", [f("Host", "a"), f("Content-Length", "0"), f("Connection", "close")]),
  ];
}

export function serialize(r: Req): string {
  let s = `${r.lead}${r.method} ${r.target} ${r.version}${r.eol}`;
  for (const x of r.fields) s += `${x.name}${x.sep}${x.value}${x.eol}`;
  return s + r.end + r.body;
}

const CL_VALUES = [
  "5",
  "05",
  "0",
  "",
  " ",
  "5, 5",
  "5,5",
  "5, 6",
  "5,",
  ",5",
  "+5",
  "-5",
  "5 5",
  "0x5",
  "5\xa0",
  "\xa05",
  "5\x0b",
  "1e1",
  "99999999999999999999",
  "4",
  "6",
];
const TE_VALUES = [
  "chunked",
  "Chunked",
  "CHUNKED",
  "",
  " ",
  ", chunked",
  "chunked,",
  "chunked, chunked",
  "gzip, chunked",
  "chunked, gzip",
  "identity",
  "chunked;q=1",
  "\xa0chunked",
  "chunked\xa0",
  "chunked\x0b",
  "\x0cchunked",
  "chunk",
  "chunked\x85",
  '"chunked"',
  "x-chunked",
  "chunked ,",
];
const HOST_VALUES = [
  "",
  "a",
  "a:b",
  "a:",
  ":80",
  "[::1]",
  "[::1",
  "::1",
  "a]",
  "[v1.x]",
  "[::ffff:1.2.3.4]:80",
  "[1::2::3]",
  "%41",
  "%zz",
  "a b",
  "a,b",
  "a@b",
  "a/b",
  "exa_mple.com",
  "a\xa0",
  "1.2.3.4:80",
  "a:80:90",
];
const TARGETS = [
  "/",
  "*",
  "//x",
  "/%zz",
  "/a|b",
  "/a{b}",
  "http://a/",
  "http://a",
  "http://a?x",
  "HTTP://A:80/",
  "http:///x",
  "http://u@a/",
  "http://a:b/",
  "http://[::1]:80/",
  "http://[::1/",
  "http://a b/",
  "https://a:/x",
  "ftp://a/",
  "http:/x",
  "a:80",
  "example.com:443",
  "[::1]:443",
  "[:::]:443",
  "[1::2::3]:443",
  "[v1.x]:443",
  ":443",
  "a",
];
const VERSIONS = [
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/1.2",
  "HTTP/1.9",
  "HTTP/2.0",
  "HTTP/0.9",
  "HTTP/1.10",
  "HTTP/1",
  "http/1.1",
  "HTTP /1.1",
  "HTTP/1.1 ",
  " HTTP/1.1",
];
const SEPS = [":", ": ", ":\t", " :", "\t:", " : ", ":  ", ":\x0b", ":\x0c", ":\xa0", "\xa0:"];
const EOLS = ["\n", "\r", "\r\r\n", "\n\r", "\r\n\r\n", "\r\n\n", "\x00\r\n"];
const LEADS = ["\r\n", "\n", "\r\n\r\n", " \r\n", "\r", "\t\r\n"];
const FRAMING_NAMES = ["Content-Length", "Transfer-Encoding", "Host"];

function insertAt(s: string, at: number, piece: string): string {
  return s.slice(0, at) + piece + s.slice(at);
}

function mutateString(rng: Rng, s: string): string {
  const at = rng.int(s.length + 1);
  switch (rng.int(4)) {
    case 0:
    case 1:
      return insertAt(s, at, rng.pick(SPECIAL));
    case 2:
      return s.length === 0
        ? rng.pick(SPECIAL)
        : s.slice(0, at) + String.fromCharCode(rng.int(256)) + s.slice(at + 1);
    default:
      return s.slice(0, at) + s.slice(at + 1);
  }
}

function changeCase(rng: Rng, s: string): string {
  switch (rng.int(3)) {
    case 0:
      return s.toUpperCase();
    case 1:
      return s.toLowerCase();
    default:
      return Array.from(s, (c) => (rng.chance(0.5) ? c.toUpperCase() : c.toLowerCase())).join("");
  }
}

function valueFor(rng: Rng, name: string): string {
  const lower = name.toLowerCase();
  if (lower === "content-length") return rng.pick(CL_VALUES);
  if (lower === "transfer-encoding") return rng.pick(TE_VALUES);
  if (lower === "host") return rng.pick(HOST_VALUES);
  return "v";
}

/** One structural mutation of `r`, in place. */
function mutateOnce(rng: Rng, r: Req): void {
  const field = () => (r.fields.length ? rng.pick(r.fields) : undefined);
  switch (rng.int(17)) {
    case 0:
      r.method = mutateString(rng, r.method);
      break;
    case 1:
      r.target = mutateString(rng, r.target);
      break;
    case 2:
      r.version = rng.chance(0.5) ? mutateString(rng, r.version) : rng.pick(VERSIONS);
      break;
    case 3: {
      const x = field();
      if (x) x.name = mutateString(rng, x.name);
      break;
    }
    case 4:
    case 5: {
      const x = field();
      if (x) x.value = mutateString(rng, x.value);
      break;
    }
    case 6: {
      // Duplicate a framing field, or add one, with an interesting value.
      const name = rng.pick(FRAMING_NAMES);
      const existing = r.fields.find((x) => x.name.toLowerCase() === name.toLowerCase());
      const value = existing && rng.chance(0.4) ? existing.value : valueFor(rng, name);
      r.fields.splice(rng.int(r.fields.length + 1), 0, f(name, value));
      break;
    }
    case 7: {
      // Replace a framing field's value.
      const x = field();
      if (x) x.value = valueFor(rng, x.name);
      break;
    }
    case 8: {
      // Remove a field.
      if (r.fields.length) r.fields.splice(rng.int(r.fields.length), 1);
      break;
    }
    case 9: {
      // obs-fold: continue a value on the next line.
      const x = field();
      if (x) {
        const at = rng.int(x.value.length + 1);
        x.value = insertAt(x.value, at, `\r\n${rng.pick([" ", "\t", "  "])}`);
      }
      break;
    }
    case 10: {
      const x = field();
      if (rng.chance(0.3)) r.method = changeCase(rng, r.method);
      else if (x && rng.chance(0.5)) x.name = changeCase(rng, x.name);
      else if (x) x.value = changeCase(rng, x.value);
      break;
    }
    case 11: {
      const x = field();
      if (x) x.sep = rng.pick(SEPS);
      break;
    }
    case 12: {
      const x = field();
      const eol = rng.pick(EOLS);
      if (x && rng.chance(0.6)) x.eol = eol;
      else if (rng.chance(0.5)) r.eol = eol;
      else r.end = eol;
      break;
    }
    case 13:
      r.lead = rng.pick(LEADS);
      break;
    case 14:
      r.target = rng.pick(TARGETS);
      if (r.target.includes(":") && !r.target.includes("/") && rng.chance(0.5)) {
        r.method = "CONNECT";
      }
      break;
    case 15: {
      // Framing combos: CL and TE together, in either order, maybe in one request twice.
      const cl = f("Content-Length", rng.pick(CL_VALUES));
      const te = f("Transfer-Encoding", rng.pick(TE_VALUES));
      r.fields.push(...(rng.chance(0.5) ? [cl, te] : [te, cl]));
      break;
    }
    default: {
      // A Host value from the list.
      const host = r.fields.find((x) => x.name.toLowerCase() === "host");
      if (host) host.value = rng.pick(HOST_VALUES);
      else r.fields.unshift(f("Host", rng.pick(HOST_VALUES)));
      break;
    }
  }
}

/** Raw mutations on serialized bytes: flip a bit, set a byte, insert one, delete one. */
export function mutateBytes(rng: Rng, s: string, upTo = s.length): string {
  if (s.length === 0) return s;
  const at = rng.int(Math.max(1, Math.min(upTo, s.length)));
  switch (rng.int(4)) {
    case 0:
      return s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ (1 << rng.int(8))) +
        s.slice(at + 1);
    case 1:
      return s.slice(0, at) + String.fromCharCode(rng.int(256)) + s.slice(at + 1);
    case 2:
      return insertAt(s, at, rng.pick(SPECIAL));
    default:
      return s.slice(0, at) + s.slice(at + 1);
  }
}

/** A mutated request as a string of bytes. */
export function mutatedRequest(rng: Rng, base: readonly Req[]): string {
  const seed = base[rng.int(base.length)];
  const r: Req = { ...seed, fields: seed.fields.map((x) => ({ ...x })) };
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) mutateOnce(rng, r);
  let s = serialize(r);
  if (rng.chance(0.25)) {
    const headEnd = s.length - r.body.length;
    s = mutateBytes(rng, s, headEnd);
  }
  return s;
}

// ---- Chunked bodies ------------------------------------------------------------------------

interface Chunk {
  size: string;
  ext: string;
  eol: string;
  data: string;
  after: string;
}

interface ChunkedBody {
  chunks: Chunk[];
  last: string;
  lastExt: string;
  lastEol: string;
  trailers: string[];
  end: string;
}

const EXTS = [
  "",
  ";a",
  ";a=b",
  "; a=b",
  " ;a",
  "\t;a",
  ";a ",
  ";a=b ",
  "; a = b",
  "\t;\ta\t=\tb",
  ';a="x y"',
  ';a="\\""',
  ';a=""',
  ";",
  ";a=",
  ";=b",
  ";a=b c",
  ';a="open',
  ";a=\x80",
  ';a="\x80"',
  ";a;b=c;d",
  " ",
  "\t",
  ";a\x00",
  ";a=b\xa0",
  "\xa0;a",
  ";a\x0b",
];
const SIZES = ["0", "00", "5", "05", "A", "a", "1F", " 5", "5 ", "+5", "-5", "0x5", "5\xa0", "g"];
const TRAILERS = [
  "X-Sum: 1",
  "X: \xe9",
  "X : 1",
  "X",
  " X: 1",
  "X:\x00",
  "X: 1\r\n 2",
  "Content-Length: 5",
  "X:\x0b1",
  ": x",
];

export function chunkedSeeds(): ChunkedBody[] {
  const c = (data: string, ext = ""): Chunk => ({
    size: data.length.toString(16),
    ext,
    eol: "\r\n",
    data,
    after: "\r\n",
  });
  const body = (chunks: Chunk[], trailers: string[] = [], lastExt = ""): ChunkedBody => ({
    chunks,
    last: "0",
    lastExt,
    lastEol: "\r\n",
    trailers,
    end: "\r\n",
  });
  return [
    body([c("hello")]),
    body([]),
    body([c("abc"), c("de", ";x=1")], ["X-Sum: 1"]),
    body([c("x".repeat(26)), c("\r\n\x00")], [], ";last"),
    body([c("hi", ';n="a b"')], ["A: 1", "B: 2"]),
  ];
}

export function serializeChunked(b: ChunkedBody): string {
  let s = "";
  for (const x of b.chunks) s += `${x.size}${x.ext}${x.eol}${x.data}${x.after}`;
  s += `${b.last}${b.lastExt}${b.lastEol}`;
  for (const t of b.trailers) s += `${t}\r\n`;
  return s + b.end;
}

/** A mutated chunked body as a string of bytes. */
export function mutatedChunked(rng: Rng, base: readonly ChunkedBody[]): string {
  const seed = base[rng.int(base.length)];
  const b: ChunkedBody = {
    ...seed,
    chunks: seed.chunks.map((x) => ({ ...x })),
    trailers: [...seed.trailers],
  };
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const chunk = b.chunks.length ? rng.pick(b.chunks) : undefined;
    switch (rng.int(10)) {
      case 0:
        if (chunk) chunk.size = mutateString(rng, chunk.size);
        else b.last = mutateString(rng, b.last);
        break;
      case 1:
        if (chunk && rng.chance(0.7)) chunk.ext = rng.pick(EXTS);
        else b.lastExt = rng.pick(EXTS);
        break;
      case 2:
        if (chunk) chunk.ext = mutateString(rng, chunk.ext || ";a=b");
        else b.lastExt = mutateString(rng, b.lastExt || ";a");
        break;
      case 3: {
        const eol = rng.pick(EOLS);
        const which = rng.int(4);
        if (chunk && which === 0) chunk.eol = eol;
        else if (chunk && which === 1) chunk.after = eol;
        else if (which === 2) b.lastEol = eol;
        else b.end = eol;
        break;
      }
      case 4:
        if (chunk) {
          const n = parseInt(chunk.size, 16);
          chunk.size = rng.pick([
            (n + 1).toString(16),
            Math.max(0, n - 1).toString(16),
            n.toString(16).toUpperCase(),
            `000${chunk.size}`,
            rng.pick(SIZES),
          ]);
        } else b.last = rng.pick(["00", "000", "0 ", " 0", "1", "0\xa0"]);
        break;
      case 5:
        b.trailers.push(rng.pick(TRAILERS));
        break;
      case 6:
        if (b.trailers.length) {
          const k = rng.int(b.trailers.length);
          b.trailers[k] = mutateString(rng, b.trailers[k]);
        }
        break;
      case 7:
        if (chunk) chunk.data = mutateString(rng, chunk.data);
        break;
      case 8:
        b.chunks.push({
          size: rng.pick(SIZES),
          ext: rng.pick(EXTS),
          eol: "\r\n",
          data: "hello",
          after: "\r\n",
        });
        break;
      default:
        if (chunk) chunk.size = `${chunk.size}${rng.pick(SPECIAL)}`;
        break;
    }
  }
  let s = serializeChunked(b);
  if (rng.chance(0.2)) s = mutateBytes(rng, s);
  return s;
}

/** A string of bytes (char codes below 0x100) as bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
