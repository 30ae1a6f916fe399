/**
 * The streaming multipart/form-data reader (static/multipart.ts): RFC 2046 §5.1 bodies split at
 * every offset, preamble and epilogue, padding, empty headers, names, bounds and broken bodies.
 */
import assert from "node:assert/strict";
import {
  boundaryOf,
  dispositionParams,
  MultipartError,
  MultipartReader,
} from "../../lib/static/multipart.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `bytes` as a stream of pieces cut at `cuts`. */
function streamOf(bytes: Uint8Array, cuts: number[] = []): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(at, cut));
    at = cut;
  }
  return new ReadableStream({
    pull(controller) {
      const next = pieces.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
}

interface Parsed {
  name: string | null;
  filename: string | null;
  type: string | null;
  body: string;
}

async function parse(
  body: string | Uint8Array,
  boundary: string,
  cuts: number[] = [],
): Promise<Parsed[]> {
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const reader = new MultipartReader(streamOf(bytes, cuts), boundary);
  const parts: Parsed[] = [];
  for (let part = await reader.next(); part !== null; part = await reader.next()) {
    const chunks: Uint8Array[] = [];
    for (let chunk = await part.read(); chunk !== null; chunk = await part.read()) {
      chunks.push(chunk.slice());
    }
    parts.push({
      name: part.name,
      filename: part.filename,
      type: part.headers.get("content-type"),
      body: decoder.decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
    });
  }
  return parts;
}

const FORM = "preamble to ignore\r\n" +
  "--AaB03x\r\n" +
  'Content-Disposition: form-data; name="field"\r\n\r\n' +
  "value\r\n" +
  "--AaB03x  \t\r\n" + // transport padding after a delimiter
  'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n' +
  "Content-Type: text/plain\r\n\r\n" +
  "line one\r\n--AaB03 not a delimiter\r\n\r\nend\r\n" +
  "--AaB03x\r\n" +
  "\r\n" + // no header fields
  "bare\r\n" +
  "--AaB03x--\r\n" +
  "epilogue";

const EXPECTED: Parsed[] = [
  { name: "field", filename: null, type: null, body: "value" },
  {
    name: "file",
    filename: "a.txt",
    type: "text/plain",
    body: "line one\r\n--AaB03 not a delimiter\r\n\r\nend",
  },
  { name: null, filename: null, type: null, body: "bare" },
];

Deno.test("multipart: a form parses the same split at every offset, and in two at every pair", async () => {
  const bytes = encoder.encode(FORM);
  assert.deepEqual(await parse(bytes, "AaB03x"), EXPECTED);
  for (let i = 0; i <= bytes.length; i++) {
    assert.deepEqual(await parse(bytes, "AaB03x", [i]), EXPECTED, `split at ${i}`);
  }
  // One byte at a time.
  const every = Array.from({ length: bytes.length }, (_, i) => i + 1);
  assert.deepEqual(await parse(bytes, "AaB03x", every), EXPECTED);
});

Deno.test("multipart: binary bodies with CRs, LFs and the boundary's prefix come out intact", async () => {
  const payload = new Uint8Array(70_000).map((_, i) => [13, 10, 45, 45, 65, i & 0xff][i % 6]);
  const head = encoder.encode(
    '--B\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n',
  );
  const tail = encoder.encode("\r\n--B--");
  const body = new Uint8Array([...head, ...payload, ...tail]);
  const reader = new MultipartReader(streamOf(body, [5, 100, 4096, 65536]), "B");
  const part = (await reader.next())!;
  const got: number[] = [];
  for (let chunk = await part.read(); chunk !== null; chunk = await part.read()) got.push(...chunk);
  assert.deepEqual(new Uint8Array(got), payload);
  assert.equal(await reader.next(), null);
});

Deno.test("multipart: an unread part is skipped by next()", async () => {
  const reader = new MultipartReader(streamOf(encoder.encode(FORM), [30, 60]), "AaB03x");
  await reader.next();
  const second = (await reader.next())!;
  assert.equal(second.filename, "a.txt");
  const third = (await reader.next())!;
  assert.equal(decoder.decode((await third.read())!), "bare");
  assert.equal(await reader.next(), null);
  assert.equal(await reader.next(), null);
});

Deno.test("multipart: broken bodies and bounds are MultipartErrors", async () => {
  const cases: [string, string][] = [
    ["no boundary at all", "hello"],
    ["ends inside a part", '--X\r\nContent-Disposition: form-data; name="a"\r\n\r\nabc'],
    ["ends inside headers", '--X\r\nContent-Disposition: form-data; name="a"'],
    ["junk after a delimiter", "--Xjunk\r\n\r\na\r\n--X--"],
    ["a header line without a colon", "--X\r\nnot a header\r\n\r\na\r\n--X--"],
    ["ends inside a delimiter line", "--X"],
  ];
  for (const [what, body] of cases) {
    await assert.rejects(parse(body, "X"), MultipartError, what);
  }
  const bigHeader = `--X\r\nX-Big: ${"a".repeat(9000)}\r\n\r\na\r\n--X--`;
  await assert.rejects(parse(bigHeader, "X"), /part header too large/);
  const many = "--X\r\n\r\na\r\n".repeat(1001) + "--X--";
  await assert.rejects(parse(many, "X"), /too many parts/);
  const preamble = "p".repeat(70_000) + "\r\n--X\r\n\r\na\r\n--X--";
  await assert.rejects(parse(preamble, "X", [65536, 66000]), /no boundary/);
});

Deno.test("multipart: boundaryOf and Content-Disposition parameters", () => {
  assert.equal(boundaryOf("multipart/form-data; boundary=abc"), "abc");
  assert.equal(boundaryOf('Multipart/Form-Data ; charset=utf-8; BOUNDARY="a b:c"'), "a b:c");
  assert.equal(
    boundaryOf("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
  );
  assert.equal(boundaryOf("multipart/mixed; boundary=abc"), null);
  assert.equal(boundaryOf("multipart/form-data"), null);
  assert.equal(boundaryOf("multipart/form-data; boundary="), null);
  assert.equal(boundaryOf(`multipart/form-data; boundary=${"a".repeat(71)}`), null);
  assert.equal(boundaryOf("multipart/form-data; boundary=a\r\nb"), null);
  assert.equal(boundaryOf(null), null);

  const params = dispositionParams(
    'form-data; name="up"; filename="caf\u00e9 %22q%22 \\"x\\";.txt"',
  );
  assert.equal(params.get("name"), "up");
  assert.equal(params.get("filename"), 'caf\u00e9 "q" "x";.txt');
  assert.equal(dispositionParams("form-data; name=bare; filename=").get("name"), "bare");
  assert.equal(dispositionParams("form-data; name=bare; filename=").get("filename"), "");
  assert.equal(dispositionParams("form-data").size, 0);
});
