/**
 * Directory listings (listing.ts): order, escaping, the parent link, what is left out.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { compareNames, sortEntries, sortOf } from "../../lib/static/listing.ts";
import { fetchDir, hostileName, opts, root, test } from "./_fixture.ts";

// ---- Listings ---------------------------------------------------------------------------------

test("static: listings are sorted, escaped, with a parent link; listing: false gives 404", async () => {
  const { response, text } = await fetchDir("/sub/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(text, /<title>Index of \/sub\/<\/title>/);
  assert.ok(text.indexOf("deeper/") < text.indexOf("hello.txt"), "directories first");
  assert.ok(text.indexOf(encodeURIComponent(hostileName)) < text.indexOf("hello.txt"), "by name");
  assert.ok(text.includes('href="../"'));
  assert.ok(!text.includes("<img"), "names are escaped");
  assert.ok(text.includes("&#60;img src=x onerror=alert(1)&#62;.txt"));
  assert.ok(text.includes(`href="${encodeURIComponent(hostileName)}"`), "hrefs are encoded");
  assert.match(text, /hello\.txt<\/a><\/td><td>12 B<\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d</);

  const empty = await fetchDir("/empty/");
  assert.equal(empty.response.status, 200);
  const off = await fetchDir("/sub/", {}, { ...opts, listing: false });
  assert.equal(off.response.status, 404);
  const prefixed = await fetchDir("/files/sub/", {}, { ...opts, urlRoot: "files" });
  assert.match(prefixed.text, /Index of \/files\/sub\//);
  const top = await fetchDir("/files/empty/", {}, { ...opts, urlRoot: "files" });
  assert.ok(top.text.includes('href="../"'));
});

test("static: the root listing leaves out dotfiles and links out of the root", async () => {
  const options = { fsRoot: root, listing: true };
  await Deno.rename(`${root}/index.html`, `${root}/index.html.off`);
  try {
    const { text } = await fetchDir("/", {}, options);
    assert.ok(!text.includes('href="../"'), "no parent above the root");
    for (const hidden of [".env", ".git", "escape.txt", "escape-dir", "env-link.txt"]) {
      assert.ok(!text.includes(`>${hidden}`), `${hidden} is not listed`);
    }
    for (const shown of ["digits.txt", "sub/", "inside-link.txt"]) {
      assert.ok(text.includes(`>${shown}`), `${shown} is listed`);
    }
    const all = await fetchDir("/", {}, { ...options, dotfiles: true, followSymlinks: true });
    for (const name of [".env", ".git/", "escape.txt", "escape-dir/", "env-link.txt"]) {
      assert.ok(all.text.includes(`>${name}<`), `${name} is listed when allowed`);
    }
  } finally {
    await Deno.rename(`${root}/index.html.off`, `${root}/index.html`);
  }
});

// ---- Order, breadcrumbs, compression, the form ------------------------------------------------

test("static: listings sort naturally, by size and by date from the query string", async () => {
  const dir = `${root}/natural`;
  await Deno.mkdir(`${dir}/d10`, { recursive: true });
  await Deno.mkdir(`${dir}/d9`);
  const files: [string, number, number][] = [
    ["f10.txt", 5, 2000],
    ["f2.txt", 300, 1000],
    ["F1.txt", 40, 3000],
    ["f1.txt", 40, 4000],
  ];
  for (const [name, size, time] of files) {
    await Deno.writeTextFile(`${dir}/${name}`, "x".repeat(size));
    await Deno.utime(`${dir}/${name}`, time, time);
  }
  try {
    const order = async (query: string) => {
      const { text } = await fetchDir(`/natural/${query}`);
      return [...text.matchAll(/<tr class="(?:dir|file)"><td><a href="[^"]*">([^<]*)</g)]
        .map((m) => m[1]);
    };
    assert.deepEqual(await order(""), ["d9/", "d10/", "F1.txt", "f1.txt", "f2.txt", "f10.txt"]);
    assert.deepEqual(await order("?sort=name&order=desc"), [
      "d10/",
      "d9/",
      "f10.txt",
      "f2.txt",
      "f1.txt",
      "F1.txt",
    ]);
    assert.deepEqual(await order("?sort=size"), [
      "d9/",
      "d10/",
      "f10.txt",
      "F1.txt",
      "f1.txt",
      "f2.txt",
    ]);
    assert.deepEqual(await order("?sort=size&order=desc"), [
      "d9/",
      "d10/",
      "f2.txt",
      "F1.txt",
      "f1.txt",
      "f10.txt",
    ]);
    assert.deepEqual((await order("?sort=date")).slice(2), [
      "f2.txt",
      "f10.txt",
      "F1.txt",
      "f1.txt",
    ]);
    assert.deepEqual(await order("?sort=bogus&order=sideways"), await order(""));

    // The column heads link to their sort, the current one reversed.
    const { text } = await fetchDir("/natural/?sort=size");
    assert.ok(text.includes('href="?sort=name&amp;order=asc">Name</a>'));
    assert.ok(text.includes('aria-sort="ascending"><a href="?sort=size&amp;order=desc">Size ↑'));
    assert.ok(text.includes('href="?sort=date&amp;order=asc">Modified'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(compareNames("f2", "f10") < 0);
  assert.ok(compareNames("a", "A") !== 0, "a total order");
  assert.deepEqual(sortOf(new URLSearchParams("sort=date&order=desc")), {
    key: "date",
    order: "desc",
  });
  const entries = ["x2", "x1", "x10"].map((name) => ({ name, dir: false, size: 1, mtime: null }));
  assert.deepEqual(sortEntries(entries, "size", "desc").map((e) => e.name), ["x1", "x2", "x10"]);
});

test("static: breadcrumbs link every parent, relative, and the prefix is text", async () => {
  const { text } = await fetchDir("/sub/deeper/");
  assert.ok(
    text.includes('<h1><a href="../../">/</a><a href="../">sub/</a>deeper/</h1>'),
    text.slice(text.indexOf("<h1>"), text.indexOf("</h1>")),
  );
  const prefixed = await fetchDir("/files/sub/", {}, { ...opts, urlRoot: "files" });
  assert.ok(prefixed.text.includes("<h1>/files/sub/</h1>") === false);
});

test("static: a listing is compressed as negotiated, with its exact length, and HEAD matches", async () => {
  const plain = await fetchDir("/sub/");
  assert.equal(plain.response.headers.get("content-encoding"), null);
  assert.equal(plain.response.headers.get("vary"), "Accept-Encoding");
  assert.equal(Number(plain.response.headers.get("content-length")), plain.body.length);
  assert.ok(plain.body.length > 1024, "worth compressing");

  const gz = await fetchDir("/sub/", { "accept-encoding": "gzip" });
  assert.equal(gz.response.headers.get("content-encoding"), "gzip");
  assert.equal(Number(gz.response.headers.get("content-length")), gz.body.length);
  assert.ok(gz.body.length < plain.body.length / 2);
  assert.equal(new TextDecoder().decode(gunzipSync(gz.body)), plain.text);

  const br = await fetchDir("/sub/", { "accept-encoding": "gzip, br" });
  assert.equal(br.response.headers.get("content-encoding"), "br");
  const head = await fetchDir("/sub/", { "accept-encoding": "gzip" }, opts, "HEAD");
  assert.equal(head.body.length, 0);
  assert.equal(
    head.response.headers.get("content-length"),
    gz.response.headers.get("content-length"),
  );

  const off = await fetchDir("/sub/", { "accept-encoding": "gzip" }, { ...opts, compress: false });
  assert.equal(off.response.headers.get("content-encoding"), null);
  assert.equal(off.response.headers.get("vary"), null);
});

test("static: a listing reads in light and dark, and shows an upload form when asked", async () => {
  const { text } = await fetchDir("/sub/");
  assert.ok(text.includes("color-scheme:light dark"));
  assert.ok(text.includes("@media (prefers-color-scheme:dark)"));
  assert.ok(!text.includes("<form"), "no form without uploads");
  const form = await fetchDir("/sub/", {}, { ...opts, uploadForm: true });
  assert.match(
    form.text,
    /<form method="post" action="\.\/" enctype="multipart\/form-data"><input type="file" name="file" multiple/,
  );
  assert.match(text, /<footer>1 directory, 2 files<\/footer>/);
});
