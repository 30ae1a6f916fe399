/**
 * Uploads (static/upload.ts): PUT and multipart POST into a directory, names checked as paths
 * are, no overwrite unless asked, nothing half-written ever visible or left behind, bounded size.
 */
import assert from "node:assert/strict";
import { receiveUpload, type UploadOptions, validFileName } from "../../lib/static/upload.ts";

const encoder = new TextEncoder();

async function fresh(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "upload-test-" });
  await Deno.mkdir(`${dir}/sub`);
  await Deno.mkdir(`${dir}/.hidden`);
  await Deno.writeTextFile(`${dir}/old.txt`, "old");
  const outside = await Deno.makeTempDir({ prefix: "upload-outside-" });
  await Deno.symlink(outside, `${dir}/out`);
  return dir;
}

function put(path: string, body: BodyInit | null, headers: HeadersInit = {}): Request {
  return new Request(`http://localhost${path}`, { method: "PUT", body, headers });
}

/** A multipart body with these files (and a text field), as a browser sends it. */
function form(
  files: [string, string | Uint8Array][],
  boundary = "----formBoundaryXyZ",
): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [
    encoder.encode(`--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n`),
  ];
  for (const [name, content] of files) {
    parts.push(encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
        `Content-Type: application/octet-stream\r\n\r\n`,
    ));
    parts.push(typeof content === "string" ? encoder.encode(content) : content);
    parts.push(encoder.encode("\r\n"));
  }
  parts.push(encoder.encode(`--${boundary}--\r\n`));
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

function post(path: string, body: Uint8Array<ArrayBuffer>, accept = "*/*"): Request {
  return new Request(`http://localhost${path}`, {
    method: "POST",
    body,
    headers: { "content-type": "multipart/form-data; boundary=----formBoundaryXyZ", accept },
  });
}

/** Every name in `dir`, recursively, to check that no temporary file is left. */
async function names(dir: string): Promise<string[]> {
  const all: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    all.push(entry.name);
    if (entry.isDirectory && !entry.isSymlink) {
      all.push(...(await names(`${dir}/${entry.name}`)).map((n) => `${entry.name}/${n}`));
    }
  }
  return all.sort();
}

Deno.test("upload: PUT creates (201 + Location), refuses to overwrite (409), replaces with overwrite (204)", async () => {
  const root = await fresh();
  const options: UploadOptions = { fsRoot: root };
  const created = await receiveUpload(put("/sub/new%20file.txt", "hello"), options);
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/sub/new%20file.txt");
  await created.body?.cancel();
  assert.equal(await Deno.readTextFile(`${root}/sub/new file.txt`), "hello");

  const again = await receiveUpload(put("/sub/new%20file.txt", "second"), options);
  assert.equal(again.status, 409);
  assert.match(await again.text(), /exists/);
  assert.equal(await Deno.readTextFile(`${root}/sub/new file.txt`), "hello");

  const replaced = await receiveUpload(put("/old.txt", "new"), { ...options, overwrite: true });
  assert.equal(replaced.status, 204);
  assert.equal(await Deno.readTextFile(`${root}/old.txt`), "new");

  const empty = await receiveUpload(put("/empty.txt", null), options);
  assert.equal(empty.status, 201);
  await empty.body?.cancel();
  assert.equal((await Deno.stat(`${root}/empty.txt`)).size, 0);
  assert.deepEqual(await names(root), [
    ".hidden",
    "empty.txt",
    "old.txt",
    "out",
    "sub",
    "sub/new file.txt",
  ]);
});

Deno.test("upload: names and places are checked as strictly as request paths", async () => {
  const root = await fresh();
  const options: UploadOptions = { fsRoot: root, overwrite: true };
  const table: [string, number][] = [
    ["/sub/", 400], // no name
    ["/../escape.txt", 404], // the URL parser removes the dot segment: a missing parent
    ["/%2e%2e/escape.txt", 400],
    ["/sub%2fx.txt", 400],
    ["/a%5cb.txt", 400],
    ["/nul%00.txt", 400],
    ["/c:evil.txt", 400],
    ["/.env", 404], // dotfiles stay hidden
    ["/.hidden/x.txt", 404],
    ["/out/x.txt", 404], // a symlink out of the root
    ["/missing/x.txt", 409], // no such parent
    ["/old.txt/x.txt", 409], // the parent is a file
    ["/sub", 409], // a directory in the way, even with overwrite
    ["/tab%09.txt", 400],
    ["/trailing%20", 400],
    [`/${"n".repeat(256)}`, 400],
    ["/%zz", 400],
  ];
  for (const [path, status] of table) {
    const response = await receiveUpload(put(path, "x"), options);
    await response.body?.cancel();
    if (path.endsWith("/escape.txt")) {
      // The URL parser removes the dot segment ("%2e%2e" too): /escape.txt, inside the root.
      assert.equal(response.status, 201, path);
      await Deno.remove(`${root}/escape.txt`);
      continue;
    }
    assert.equal(response.status, status, path);
  }
  assert.deepEqual(await names(root), [".hidden", "old.txt", "out", "sub"]);
  assert.equal(validFileName("ok.txt"), true);
  assert.equal(validFileName(".env"), false);
  assert.equal(validFileName(".env", true), true);
  for (const bad of ["", ".", "..", "a/b", "a\\b", "a\0b", "C:x", "a\nb", "x.", "x ", "\x7f"]) {
    assert.equal(validFileName(bad, true), false, JSON.stringify(bad));
  }
});

Deno.test("upload: a body over maxBytes is 413 and leaves nothing; an aborted body leaves nothing", async () => {
  const root = await fresh();
  const big = new Uint8Array(100_000);
  const tooBig = await receiveUpload(put("/big.bin", big), { fsRoot: root, maxBytes: 50_000 });
  assert.equal(tooBig.status, 413);
  await tooBig.body?.cancel();

  // A client that goes away mid-upload: the body stream errors.
  let sent = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 3) controller.enqueue(new Uint8Array(1000));
      else controller.error(new Error("connection reset"));
    },
  });
  const aborted = await receiveUpload(put("/partial.bin", broken), { fsRoot: root });
  assert.equal(aborted.status, 400);
  await aborted.body?.cancel();
  assert.deepEqual(await names(root), [".hidden", "old.txt", "out", "sub"]);
});

Deno.test("upload: the name appears only when the file is whole", async () => {
  const root = await fresh();
  const { promise: release, resolve } = Promise.withResolvers<void>();
  let pulled = 0;
  const slow = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pulled++ === 0) return controller.enqueue(encoder.encode("first half "));
      await release;
      controller.enqueue(encoder.encode("second half"));
      controller.close();
    },
  });
  const pending = receiveUpload(put("/sub/slow.txt", slow), { fsRoot: root });
  await new Promise((r) => setTimeout(r, 50));
  const during = await names(`${root}/sub`);
  assert.equal(during.length, 1, "one temporary file");
  assert.match(during[0], /^\.upload-[0-9a-f-]+\.tmp$/, "hidden while written");
  resolve();
  const response = await pending;
  assert.equal(response.status, 201);
  await response.body?.cancel();
  assert.deepEqual(await names(`${root}/sub`), ["slow.txt"]);
  assert.equal(await Deno.readTextFile(`${root}/sub/slow.txt`), "first half second half");
});

Deno.test("upload: multipart POST writes every file; a browser is sent back to the listing", async () => {
  const root = await fresh();
  const options: UploadOptions = { fsRoot: root };
  const binary = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
  const response = await receiveUpload(
    post("/sub/", form([["a.txt", "alpha"], ["caf\u00e9 b.bin", binary]])),
    options,
  );
  assert.equal(response.status, 201);
  assert.equal(await response.text(), "201 Created\n/sub/a.txt\n/sub/caf%C3%A9%20b.bin\n");
  assert.equal(await Deno.readTextFile(`${root}/sub/a.txt`), "alpha");
  assert.deepEqual(await Deno.readFile(`${root}/sub/caf\u00e9 b.bin`), binary);

  const browser = await receiveUpload(
    post("/", form([["c.txt", "c"]]), "text/html,application/xhtml+xml"),
    options,
  );
  assert.equal(browser.status, 303);
  assert.equal(browser.headers.get("location"), "/");

  // One name that exists: 409, and none of the request's files is written.
  const conflict = await receiveUpload(
    post("/", form([["d.txt", "d"], ["old.txt", "x"]])),
    options,
  );
  assert.equal(conflict.status, 409);
  await conflict.body?.cancel();
  const bad = await receiveUpload(post("/", form([["e.txt", "e"], ["../x", "x"]])), options);
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  const twice = await receiveUpload(post("/", form([["f.txt", "1"], ["f.txt", "2"]])), options);
  assert.equal(twice.status, 400);
  await twice.body?.cancel();
  const none = await receiveUpload(post("/", form([["", ""]])), options);
  assert.equal(none.status, 400, "an empty file input is no upload");
  await none.body?.cancel();
  const notMultipart = await receiveUpload(
    new Request("http://localhost/", { method: "POST", body: "x=1" }),
    options,
  );
  assert.equal(notMultipart.status, 415);
  await notMultipart.body?.cancel();
  const broken = await receiveUpload(post("/", encoder.encode("--nope")), options);
  assert.equal(broken.status, 400);
  await broken.body?.cancel();
  const missing = await receiveUpload(post("/nowhere/", form([["g.txt", "g"]])), options);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const tooBig = await receiveUpload(post("/", form([["h.bin", binary]])), {
    ...options,
    maxBytes: 100_000,
  });
  assert.equal(tooBig.status, 413);
  await tooBig.body?.cancel();
  assert.deepEqual(await names(root), [
    ".hidden",
    "c.txt",
    "old.txt",
    "out",
    "sub",
    "sub/a.txt",
    "sub/caf\u00e9 b.bin",
  ]);

  const overwritten = await receiveUpload(post("/", form([["old.txt", "replaced"]])), {
    ...options,
    overwrite: true,
  });
  assert.equal(overwritten.status, 201);
  await overwritten.body?.cancel();
  assert.equal(await Deno.readTextFile(`${root}/old.txt`), "replaced");
});

Deno.test("upload: two uploads of one name at once: exactly one wins", async () => {
  const root = await fresh();
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      (_, i) =>
        receiveUpload(put("/race.txt", `writer ${i}`), { fsRoot: root }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        }),
    ),
  );
  assert.equal(results.filter((s) => s === 201).length, 1, JSON.stringify(results));
  assert.equal(results.filter((s) => s === 409).length, 7);
  assert.match(await Deno.readTextFile(`${root}/race.txt`), /^writer \d$/);
  assert.deepEqual(await names(root), [".hidden", "old.txt", "out", "race.txt", "sub"]);
});
