/**
 * What no request may reach (paths.ts): traversal in every encoding, symlinks out of the root,
 * dotfiles, urlRoot, and a checked path later swapped for a link.
 */
import assert from "node:assert/strict";
import { base, digits, fetchDir, hostileName, opts, root, SECRET, test } from "./_fixture.ts";

// ---- Safety -----------------------------------------------------------------------------------

/** Every path must answer 400 or 404 with no byte of the secret next to the root. */
const TRAVERSAL = [
  "/../secret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e/secret.txt",
  "/%2e%2e%2fsecret.txt",
  "/sub/../../secret.txt",
  "/sub/%2e%2e/%2e%2e/secret.txt",
  "/sub%2f..%2f..%2fsecret.txt",
  "/sub/..%2f..%2fsecret.txt",
  "/..%5csecret.txt",
  "/%5c..%5csecret.txt",
  "/%5C..%5C..%5Csecret.txt",
  "/sub\\..\\..\\secret.txt",
  "/%2e%2e%5csecret.txt",
  "/%252e%252e/secret.txt",
  "/..%252fsecret.txt",
  "/%00/secret.txt",
  "/digits.txt%00.html",
  "/sub/..%00/secret.txt",
  "/%",
  "/%zz",
  "/%c0%ae%c0%ae/secret.txt",
  "/%c0%af..%c0%afsecret.txt",
  "/C:/secret.txt",
  "/c:%5csecret.txt",
  "/C%3A%5Csecret.txt",
  `/${base}/secret.txt`,
  `//${base.slice(1)}/secret.txt`,
  `/%2f${base.slice(1).replaceAll("/", "%2f")}%2fsecret.txt`,
  "/%2fetc%2fpasswd",
  "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
  "/sub/.%2e/.%2e/secret.txt",
  "/sub/%2E%2E/%2E%2E/secret.txt",
  "/./../secret.txt",
  "/..;/secret.txt",
  "/escape.txt",
  "/escape-dir/secret.txt",
  "/escape-dir/",
  "/trap/index.html",
  "/env-link.txt",
  "/.env",
  "/.git/config",
  "/.git/",
  "/sub/../.env",
  "/%2eenv",
  "/loop",
];

for (const path of TRAVERSAL) {
  test(`static: traversal ${path} never leaks`, async () => {
    for (const method of ["GET", "HEAD"]) {
      const { response, text } = await fetchDir(path, {}, opts, method);
      assert.ok([400, 404].includes(response.status), `${method} ${path} → ${response.status}`);
      assert.ok(!text.includes(SECRET), "no byte from outside the root");
      assert.ok(!text.includes("PASSWORD") && !text.includes("[core]"), "no dotfile content");
    }
  });
}

test("static: an index.html or a .gz sibling that links out of the root is not served", async () => {
  const trap = await fetchDir("/trap/");
  assert.equal(trap.response.status, 200, "a listing instead");
  assert.ok(!trap.text.includes(SECRET));
  assert.ok(!trap.text.includes("index.html"), "the link is not listed either");
  const leak = await fetchDir("/leak.js", { "accept-encoding": "gzip" });
  assert.equal(leak.response.headers.get("content-encoding"), null);
  assert.equal(leak.text, "console.log('leak.js');\n");
  const spa = await fetchDir("/nowhere", { accept: "text/html" }, {
    fsRoot: `${root}/trap`,
    spa: true,
  });
  assert.equal(spa.response.status, 404);
  assert.ok(!spa.text.includes(SECRET));
});

test("static: symlinks inside the root are served; outside only with followSymlinks", async () => {
  assert.equal((await fetchDir("/inside-link.txt")).text, "hello world\n");
  const follow = { ...opts, followSymlinks: true };
  assert.equal((await fetchDir("/escape.txt", {}, follow)).text, SECRET);
  assert.equal((await fetchDir("/escape-dir/secret.txt", {}, follow)).text, SECRET);
  // Following links out does not unhide dotfiles: a link to .env is still .env.
  assert.equal((await fetchDir("/env-link.txt", {}, follow)).response.status, 404);
  const both = { ...opts, followSymlinks: true, dotfiles: true };
  assert.equal((await fetchDir("/env-link.txt", {}, both)).text, "PASSWORD=1\n");
});

test("static: a served path later swapped for a link out of the root is refused", async () => {
  // The guard remembers paths it let through; the memory must not outlive the file it named.
  await Deno.mkdir(`${root}/swap/dir`, { recursive: true });
  await Deno.writeTextFile(`${root}/swap/file.txt`, "inside\n");
  await Deno.writeTextFile(`${root}/swap/dir/secret.txt`, "inside too\n");
  try {
    assert.equal((await fetchDir("/swap/file.txt")).text, "inside\n");
    assert.equal((await fetchDir("/swap/dir/secret.txt")).text, "inside too\n");
    await Deno.remove(`${root}/swap/file.txt`);
    await Deno.symlink(`${base}/secret.txt`, `${root}/swap/file.txt`);
    await Deno.remove(`${root}/swap/dir`, { recursive: true });
    await Deno.symlink(`${base}/outside-dir`, `${root}/swap/dir`);
    for (const path of ["/swap/file.txt", "/swap/dir/secret.txt"]) {
      const { response, text } = await fetchDir(path);
      assert.equal(response.status, 404, path);
      assert.ok(!text.includes(SECRET), path);
    }
  } finally {
    await Deno.remove(`${root}/swap`, { recursive: true });
  }
});

test("static: dotfiles and dot-directories only with dotfiles: true", async () => {
  const options = { ...opts, dotfiles: true };
  assert.equal((await fetchDir("/.env", {}, options)).text, "PASSWORD=1\n");
  assert.equal((await fetchDir("/.git/config", {}, options)).text, "[core]\n");
  assert.equal((await fetchDir("/env-link.txt", {}, options)).text, "PASSWORD=1\n");
});

test("static: a path's verdict is kept apart for each urlRoot and dotfiles setting", async () => {
  // serveDir keeps the verdict on each path; asking again, with other options, must not reuse it.
  const hidden = { ...opts, dotfiles: true };
  const rooted = { ...opts, urlRoot: "static" };
  for (let round = 0; round < 2; round++) {
    assert.equal((await fetchDir("/.env", {}, opts)).response.status, 404);
    assert.equal((await fetchDir("/.env", {}, hidden)).text, "PASSWORD=1\n");
    assert.equal((await fetchDir("/sub/hello.txt", {}, rooted)).response.status, 404);
    assert.equal((await fetchDir("/sub/hello.txt", {}, opts)).text, "hello world\n");
    assert.equal((await fetchDir("/static/sub/hello.txt", {}, rooted)).text, "hello world\n");
    assert.equal((await fetchDir("/sub%2fhello.txt", {}, opts)).response.status, 400);
  }
});

test("static: urlRoot is stripped and nothing outside it is served", async () => {
  const options = { ...opts, urlRoot: "static" };
  assert.equal((await fetchDir("/static/sub/hello.txt", {}, options)).text, "hello world\n");
  assert.equal((await fetchDir("/static/", {}, options)).text, "<h1>home</h1>\n");
  assert.equal((await fetchDir("/sub/hello.txt", {}, options)).response.status, 404);
  assert.equal((await fetchDir("/staticx/sub/hello.txt", {}, options)).response.status, 404);
  assert.equal((await fetchDir("/", {}, options)).response.status, 404);
  // A dot in the URL prefix is not a dotfile.
  const wellKnown = { ...opts, urlRoot: ".well-known/files" };
  assert.equal((await fetchDir("/.well-known/files/digits.txt", {}, wellKnown)).text, digits);
});

test("static: percent-encoded names are decoded", async () => {
  assert.equal((await fetchDir("/sub/deeper/a%20b.txt")).text, "spaced\n");
  assert.equal((await fetchDir(`/sub/${encodeURIComponent(hostileName)}`)).text, "x");
  assert.equal((await fetchDir("/%64igits.txt")).text, digits);
});

test("static: a file is never served under a directory-style URL", async () => {
  // Issue 13: "/small.txt/" and "/small.txt/." served the file (nginx: 404). The URL parser
  // removes the trailing "." before serveDir sees the path, so both are "/hello.txt/" here.
  for (const path of ["/sub/hello.txt/", "/sub/hello.txt/.", "/sub/hello.txt/%2e"]) {
    const { response } = await fetchDir(path);
    assert.ok(response.status === 404 || response.status === 400, `${path}: ${response.status}`);
  }
  for (const method of ["GET", "HEAD"]) {
    const { response } = await fetchDir("/sub/hello.txt/", {}, opts, method);
    assert.equal(response.status, 404, method);
  }
  assert.equal((await fetchDir("/sub/hello.txt")).response.status, 200, "the file itself");
  assert.equal((await fetchDir("/sub/")).response.status, 200, "a directory with a slash");
});
