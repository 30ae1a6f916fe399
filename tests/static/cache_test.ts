/**
 * The small-file cache (cache.ts): never stale, never changed through a response, within its
 * budget.
 */
import { bytesByReference } from "../../lib/fastpath/response.ts";
import assert from "node:assert/strict";
import { serveDir, type ServeDirOptions, smallFileCache } from "../../lib/static/mod.ts";
import { css, decompress, digits, fetchDir, get, opts, root, test } from "./_fixture.ts";

test("static: a file that changes is not served stale from the cache", async () => {
  await Deno.writeTextFile(`${root}/changing.txt`, "one");
  try {
    const first = await fetchDir("/changing.txt");
    assert.equal(first.text, "one");
    await Deno.writeTextFile(`${root}/changing.txt`, "two!");
    const second = await fetchDir("/changing.txt");
    assert.equal(second.text, "two!");
    assert.notEqual(second.response.headers.get("etag"), first.response.headers.get("etag"));
    // Same size, new content, mtime forced back: a new inode still tells them apart.
    const mtime = (await Deno.stat(`${root}/changing.txt`)).mtime!;
    await Deno.writeTextFile(`${root}/changing.tmp`, "3333");
    await Deno.utime(`${root}/changing.tmp`, mtime, mtime);
    await Deno.rename(`${root}/changing.tmp`, `${root}/changing.txt`);
    assert.equal((await fetchDir("/changing.txt")).text, "3333");
  } finally {
    await Deno.remove(`${root}/changing.txt`);
  }
});

test("static: a cached file cannot be changed through the responses it is served in", async () => {
  const path = "/digits.txt";
  // Each way a handler can get at a response's bytes, each writing over what it got.
  const readers: [string, (response: Response) => Promise<Uint8Array>][] = [
    ["bytes()", (response) => response.bytes()],
    ["arrayBuffer()", async (response) => new Uint8Array(await response.arrayBuffer())],
    ["body reader", async (response) => (await response.body!.getReader().read()).value!],
    ["a clone's bytes()", (response) => response.clone().bytes()],
    ["Response(body, response)", (response) => new Response(response.body, response).bytes()],
  ];
  for (const [how, read] of readers) {
    const bytes = await read(await serveDir(get(path), opts));
    assert.equal(new TextDecoder().decode(bytes), digits, how);
    bytes.fill(0x58);
    assert.equal((await fetchDir(path)).text, digits, `after writing over ${how}`);
  }
  // The same through compression on the fly: the compressed bytes are cached too.
  const gzip = { "accept-encoding": "gzip" };
  const compressed = await serveDir(get("/style.css", gzip), opts);
  assert.equal(compressed.headers.get("content-encoding"), "gzip");
  (await compressed.bytes()).fill(0);
  assert.equal(await decompress((await fetchDir("/style.css", gzip)).body, "gzip"), css);
});

test("static: the small-file cache counts what it holds and keeps to its budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "static-cache-" });
  try {
    const options = { fsRoot: dir };
    const style = "p { margin: 0 }\n".repeat(125); // 2,000 bytes, compressible
    await Deno.writeTextFile(`${dir}/a.css`, style);
    const grew = async (path: string, headers: HeadersInit, opts: ServeDirOptions) => {
      const before = smallFileCache().bytes;
      const { response, body } = await fetchDir(path, headers, opts);
      assert.equal(response.status, 200);
      return { grew: smallFileCache().bytes - before, length: body.length };
    };
    const first = await grew("/a.css", {}, options);
    assert.ok(first.grew > style.length, `a new entry counts more than its bytes: ${first.grew}`);
    assert.equal((await grew("/a.css", {}, options)).grew, 0, "a hit adds nothing");
    // Another set of fields is another prepared response, and it is counted. (Prepared responses
    // are a fast path: on the public API alone there are none to count.)
    const other = await grew("/a.css", {}, { ...options, headers: [["x-a", "1"]] });
    if (bytesByReference) assert.ok(other.grew > 0, "a second template is counted");
    else assert.equal(other.grew, 0, "no template on the public API");
    // A compressed form is counted too, bytes and template.
    const gzip = await grew("/a.css", { "accept-encoding": "gzip" }, options);
    assert.ok(
      bytesByReference ? gzip.grew > gzip.length : gzip.grew >= gzip.length,
      `gzip form: ${gzip.grew} for ${gzip.length} bytes`,
    );

    // Past the budget the least recently used go, and what is evicted is read again when asked.
    const block = new Uint8Array(60 * 1024);
    const files = Math.ceil(smallFileCache().budget / block.length) + 20;
    for (let i = 0; i < files; i++) {
      block[0] = i & 0xff;
      await Deno.writeFile(`${dir}/f${i}.bin`, block);
      await fetchDir(`/f${i}.bin`, {}, options);
      assert.ok(smallFileCache().bytes <= smallFileCache().budget, `after ${i + 1} files`);
    }
    assert.ok(smallFileCache().entries < files);
    const again = await fetchDir("/f0.bin", {}, options);
    assert.equal(again.body.length, block.length);
    assert.equal(again.body[0], 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
