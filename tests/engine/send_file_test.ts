/**
 * The direct file-to-socket path for static bodies (lib/shared/file_body.ts, lib/engine/send_file.ts): which Responses it
 * claims, and, over real sockets, that what it sends is byte for byte the file, that it leaves
 * no file open however the exchange ends, and that Responses used some other way keep their
 * ordinary stream.
 */
import assert from "node:assert/strict";
import { serveDir, serveFile } from "../../lib/mod.ts";
import { claimFile, sendFileBody } from "../../lib/engine/send_file.ts";
import { field, quietErrors, RawClient, sleep, start, stop, withServer } from "../_raw.ts";

function test(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name, fn, sanitizeOps: true, sanitizeResources: true });
}

const dir = await Deno.makeTempDir({ prefix: "filebody-" });
// Several blocks and not a whole number of them, so the last read is a short one.
const SIZE = 1024 * 1024 + 12345;
const bytes = new Uint8Array(SIZE);
for (let i = 0; i < SIZE; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
await Deno.writeFile(`${dir}/data.bin`, bytes);
const css = "body { color: red; }\n".repeat(10_000); // compressible, larger than the cache's files
await Deno.writeTextFile(`${dir}/big.css`, css);
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const get = (target: string, headers = "", method = "GET") =>
  `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
const request = (path: string, headers: HeadersInit = {}) =>
  new Request(`http://x${path}`, { headers });

/** Collects what sendFileBody writes; each write takes `writeMs` (a slow socket). */
async function collect(response: Response, writeMs = -1): Promise<Uint8Array> {
  const claimed = claimFile(response, Number(response.headers.get("content-length")));
  assert.ok(claimed, "the body is claimed");
  const parts: Uint8Array[] = [];
  const sent = await sendFileBody(claimed, async (chunk) => {
    // Copies: the blocks are reused as soon as a write resolves.
    parts.push(chunk.slice());
    if (writeMs >= 0) await sleep(writeMs);
  });
  const all = new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  assert.equal(sent, all.length);
  return all;
}

test("filebody: whole files and single ranges are claimed and copied exactly", async () => {
  const whole = await serveFile(request("/"), `${dir}/data.bin`);
  assert.deepEqual(await collect(whole), bytes);
  assert.ok(whole.bodyUsed, "the stream was cancelled, closing the file");

  const ranged = await serveFile(request("/", { range: "bytes=1000-300000" }), `${dir}/data.bin`);
  assert.equal(ranged.status, 206);
  assert.deepEqual(await collect(ranged), bytes.subarray(1000, 300001));

  const tail = await serveFile(request("/", { range: "bytes=-5" }), `${dir}/data.bin`);
  assert.deepEqual(await collect(tail), bytes.subarray(SIZE - 5));
});

test("filebody: many copies at once, past the block budget, each get their own bytes", async () => {
  const responses = await Promise.all(
    Array.from({ length: 80 }, () => serveFile(request("/"), `${dir}/data.bin`)),
  );
  for (const copy of await Promise.all(responses.map((r) => collect(r, 1)))) {
    assert.deepEqual(copy, bytes);
  }
});

test("filebody: a Response read, cloned or re-framed elsewhere is not claimed", async () => {
  const path = `${dir}/data.bin`;
  const length = String(SIZE);

  const read = await serveFile(request("/"), path);
  const reader = read.body!.getReader();
  await reader.read();
  reader.releaseLock();
  assert.equal(claimFile(read, SIZE), null, "a body already read from");
  await read.body!.cancel();

  const cloned = await serveFile(request("/"), path);
  const copy = cloned.clone();
  assert.equal(claimFile(cloned, SIZE), null, "a cloned body");
  assert.deepEqual(new Uint8Array(await copy.arrayBuffer()), bytes);
  assert.deepEqual(new Uint8Array(await cloned.arrayBuffer()), bytes);

  const relengthed = await serveFile(request("/"), path);
  assert.equal(relengthed.headers.get("content-length"), length);
  assert.equal(claimFile(relengthed, SIZE - 1), null, "another length was declared");
  assert.deepEqual(new Uint8Array(await relengthed.arrayBuffer()), bytes);

  const multipart = await serveFile(request("/", { range: "bytes=0-1,5-6" }), path);
  const multipartLength = Number(multipart.headers.get("content-length"));
  assert.equal(claimFile(multipart, multipartLength), null, "multipart/byteranges");
  await multipart.body!.cancel();

  const gzipped = await serveFile(request("/", { "accept-encoding": "gzip" }), `${dir}/big.css`);
  assert.equal(gzipped.headers.get("content-encoding"), "gzip");
  assert.equal(claimFile(gzipped, -1), null, "compressed on the fly");
  await gzipped.body!.cancel();
});

test("filebody: a file that shrinks fails the copy and is closed", async () => {
  const path = `${dir}/shrinking.bin`;
  await Deno.writeFile(path, bytes);
  try {
    const response = await serveFile(request("/"), path);
    await Deno.truncate(path, 1000);
    const claimed = claimFile(response, SIZE)!;
    await assert.rejects(sendFileBody(claimed, () => Promise.resolve()), /shrank/);
  } finally {
    await Deno.remove(path);
  }
});

test("filebody over sockets: whole file, range and HEAD on one keep-alive connection", async () => {
  await withServer((req) => serveDir(req, { fsRoot: dir }), async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      get("/data.bin") + get("/data.bin", "Range: bytes=262140-800000\r\n") +
        get("/data.bin", "", "HEAD") + get("/data.bin"),
    );
    const [whole, range, head, again] = await client.responses(4, [false, false, true, false]);
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, bytes);
    assert.equal(range.status, 206);
    assert.equal(field(range, "content-range"), `bytes 262140-800000/${SIZE}`);
    assert.deepEqual(range.body, bytes.subarray(262140, 800001));
    assert.equal(head.status, 200);
    assert.equal(field(head, "content-length"), String(SIZE));
    assert.equal(head.body.length, 0);
    assert.deepEqual(again.body, bytes);
  });
});

test("filebody over sockets: a handler that reads the Response's body itself gets the bytes", async () => {
  await withServer(async (req) => {
    const response = await serveFile(req, `${dir}/data.bin`);
    const read = new Uint8Array(await response.arrayBuffer());
    return new Response(read.reverse());
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(get("/"));
    const response = await client.response();
    assert.deepEqual(response.body, bytes.slice().reverse());
  });
});

test("filebody over sockets: a file that shrinks mid-response ends the connection, file closed", async () => {
  const path = `${dir}/vanishing.bin`;
  await Deno.writeFile(path, bytes);
  try {
    await quietErrors(async (logged) => {
      await withServer(async (req) => {
        const response = await serveFile(req, path);
        await Deno.truncate(path, 100_000);
        return response;
      }, async (port) => {
        await using client = await RawClient.connect(port);
        await client.write(get("/"));
        await assert.rejects(client.response());
      });
      assert.match(String(logged.flat()), /shrank/);
    });
  } finally {
    await Deno.remove(path);
  }
});

test("filebody over sockets: clients that leave mid-download leave no file open", async () => {
  const server = start((req) => serveDir(req, { fsRoot: dir }));
  try {
    for (const pause of [0, 50]) {
      const client = await RawClient.connect(server.addr.port);
      await client.write(get("/data.bin"));
      await client.until("\r\n\r\n");
      await sleep(pause);
      await client.close();
    }
  } finally {
    // The resource sanitizer fails the test if an FsFile is still open now.
    await stop(server, 5_000);
  }
});
