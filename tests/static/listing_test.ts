/**
 * Directory listings (listing.ts): order, escaping, the parent link, what is left out.
 */
import assert from "node:assert/strict";
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
