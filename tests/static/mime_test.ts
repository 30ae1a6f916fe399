import assert from "node:assert/strict";
import { contentType, isCompressible } from "../../lib/static/mime.ts";

Deno.test("mime: the web platform's types, with charset=utf-8 on text", () => {
  const table: [string, string | undefined][] = [
    // Documents, styles, scripts: module scripts fail a strict MIME check without these.
    ["index.html", "text/html; charset=utf-8"],
    ["page.htm", "text/html; charset=utf-8"],
    ["a.css", "text/css; charset=utf-8"],
    ["a.js", "text/javascript; charset=utf-8"],
    ["a.mjs", "text/javascript; charset=utf-8"],
    ["a.cjs", "text/javascript; charset=utf-8"],
    ["a.wasm", "application/wasm"],
    // Data
    ["a.json", "application/json; charset=utf-8"],
    ["a.js.map", "application/json; charset=utf-8"],
    ["site.webmanifest", "application/manifest+json; charset=utf-8"],
    ["a.xml", "application/xml; charset=utf-8"],
    ["feed.atom", "application/atom+xml; charset=utf-8"],
    // mime-db's text/yaml (browsers show it; RFC 9512's application/yaml they download)
    ["a.yaml", "text/yaml; charset=utf-8"],
    ["a.yml", "text/yaml; charset=utf-8"],
    ["a.toml", "application/toml; charset=utf-8"],
    ["a.csv", "text/csv; charset=utf-8"],
    ["a.txt", "text/plain; charset=utf-8"],
    ["README.md", "text/markdown; charset=utf-8"],
    ["a.vtt", "text/vtt; charset=utf-8"],
    ["a.pdf", "application/pdf"],
    // Images
    ["a.svg", "image/svg+xml; charset=utf-8"],
    ["a.png", "image/png"],
    ["A.JPG", "image/jpeg"],
    ["a.jpeg", "image/jpeg"],
    ["a.gif", "image/gif"],
    ["a.webp", "image/webp"],
    ["a.avif", "image/avif"],
    ["favicon.ico", "image/x-icon"],
    ["a.bmp", "image/bmp"],
    // Fonts
    ["a.woff", "font/woff"],
    ["a.woff2", "font/woff2"],
    ["a.ttf", "font/ttf"],
    ["a.otf", "font/otf"],
    // Audio and video
    ["a.mp4", "video/mp4"],
    ["a.webm", "video/webm"],
    ["a.ogv", "video/ogg"],
    ["a.ogg", "audio/ogg"],
    ["a.mp3", "audio/mpeg"],
    ["a.wav", "audio/wav"],
    ["a.flac", "audio/flac"],
    ["a.m4a", "audio/mp4"],
    ["live.m3u8", "application/vnd.apple.mpegurl"],
    // Archives
    ["a.zip", "application/zip"],
    ["a.gz", "application/gzip"],
    ["a.tar", "application/x-tar"],
    ["a.7z", "application/x-7z-compressed"],
    // From mime-db, beyond what a hand-written table had
    ["a.kml", "application/vnd.google-earth.kml+xml; charset=utf-8"],
    ["a.mid", "audio/midi"],
    ["a.heic", "image/heic"],
    ["a.jxl", "image/jxl"],
    ["a.ics", "text/calendar; charset=utf-8"],
    ["a.exe", "application/x-msdos-program"],
    ["a.opus", "audio/ogg"],
    // No extension, a dotfile's name, a dot in a directory name, unknown: undefined.
    ["noext", undefined],
    [".bashrc", undefined],
    ["/dir/.env", undefined],
    ["dir.d/file", undefined],
    ["dir.d\\file", undefined],
    ["a.", undefined],
    ["a.unknownext", undefined],
    // Object.prototype's names are not extensions.
    ["a.constructor", undefined],
    ["a.__proto__", undefined],
    ["a.toString", undefined],
    ["a.hasOwnProperty", undefined],
  ];
  for (const [name, type] of table) assert.equal(contentType(name), type, name);
});

Deno.test("mime: source code no browser runs is text/plain, so browsers show it", () => {
  // mime-db says video/mp2t for .ts, application/x-sh for .sh, text/jsx for .jsx, and has no
  // .py, .tsx, .go; browsers download most of those. Deno reads a text/plain module's language
  // from its extension, so `deno run http://host/mod.ts` still works.
  const source = [
    "a.ts",
    "a.mts",
    "a.cts",
    "App.tsx",
    "App.jsx",
    "shader.wgsl",
    "main.py",
    "run.sh",
    "main.go",
    "lib.rs",
    "index.php",
    "query.sql",
    "deno.jsonc",
    "fix.patch",
    "A.PY",
  ];
  for (const name of source) assert.equal(contentType(name), "text/plain; charset=utf-8", name);
});

Deno.test("mime: every text type carries charset=utf-8, no binary one does", () => {
  const text = ["a.html", "a.css", "a.js", "a.json", "a.svg", "a.webmanifest", "a.xml", "a.md"];
  for (const name of text) assert.match(contentType(name)!, /; charset=utf-8$/, name);
  const binary = ["a.png", "a.wasm", "a.woff2", "a.mp4", "a.pdf", "a.zip", "a.ico"];
  for (const name of binary) assert.doesNotMatch(contentType(name)!, /charset/, name);
});

Deno.test("mime: isCompressible says yes to text and uncompressed binaries, no to the rest", () => {
  const table: [string, boolean][] = [
    ["text/css; charset=utf-8", true],
    ["text/html", true],
    ["TEXT/HTML; charset=UTF-8", true],
    ["text/javascript; charset=utf-8", true],
    ["application/json", true],
    ["application/manifest+json; charset=utf-8", true],
    ["image/svg+xml; charset=utf-8", true],
    ["application/xml", true],
    ["application/wasm", true],
    ["image/x-icon", true],
    ["font/ttf", true],
    ["font/otf", true],
    ["image/png", false],
    ["image/jpeg", false],
    ["image/webp", false],
    ["font/woff2", false],
    ["video/mp4", false],
    ["audio/mpeg", false],
    ["application/zip", false],
    ["application/gzip", false],
    ["application/pdf", false],
    ["application/octet-stream", false],
  ];
  for (const [type, expected] of table) assert.equal(isCompressible(type), expected, type);
});
