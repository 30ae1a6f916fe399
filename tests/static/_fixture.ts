/**
 * The fixture tree every static test file shares, built once in a temporary directory: a secret
 * next to the root, symlinks out of it, dotfiles, a directory without an index; and the helpers
 * that call serveDir with plain `Request`s.
 */
import { serveDir, type ServeDirOptions } from "../../lib/static/mod.ts";

// ---- The fixture tree, built once -------------------------------------------------------------

export const base = await Deno.makeTempDir({ prefix: "static-test-" });
export const root = `${base}/root`;
export const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";
await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
await Deno.mkdir(`${root}/empty`);
await Deno.mkdir(`${root}/.git`);
await Deno.mkdir(`${root}/app`);
await Deno.mkdir(`${root}/trap`);
await Deno.mkdir(`${base}/outside-dir`);
await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
await Deno.writeTextFile(`${base}/outside-dir/secret.txt`, SECRET);
await Deno.writeTextFile(`${root}/index.html`, "<h1>home</h1>\n");
await Deno.writeTextFile(`${root}/app/index.html`, "<div id=app></div>\n");
await Deno.writeTextFile(`${root}/.env`, "PASSWORD=1\n");
await Deno.writeTextFile(`${root}/.git/config`, "[core]\n");
await Deno.writeTextFile(`${root}/sub/hello.txt`, "hello world\n");
await Deno.writeTextFile(`${root}/sub/deeper/a b.txt`, "spaced\n");
export const digits = "0123456789".repeat(100); // 1000 bytes
await Deno.writeTextFile(`${root}/digits.txt`, digits);
export const css = "body { color: red; }\n".repeat(200); // compressible, over 1 KiB
await Deno.writeTextFile(`${root}/style.css`, css);
export const smallCss = "a { color: blue; }\n"; // compressible, under 1 KiB
await Deno.writeTextFile(`${root}/small.css`, smallCss);
await Deno.writeTextFile(`${root}/app.js`, "console.log('plain');\n");
await Deno.writeTextFile(`${root}/app.js.gz`, "GZ-BYTES");
await Deno.writeTextFile(`${root}/app.js.br`, "BR-BYTES");
// A sibling left over from before the source was edited: older than it, so skipped.
await Deno.writeTextFile(`${root}/stale.js`, "console.log('new');\n");
await Deno.writeTextFile(`${root}/stale.js.gz`, "OLD-GZ");
await Deno.utime(`${root}/stale.js.gz`, new Date(2000, 0, 1), new Date(2000, 0, 1));
export const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
await Deno.writeFile(`${root}/big.bin`, big);
// Symlinks: out of the root (a file, a directory, an index, a precompressed sibling), to a
// dotfile, inside the root, and a loop.
await Deno.symlink(`${base}/secret.txt`, `${root}/escape.txt`);
await Deno.symlink(`${base}/outside-dir`, `${root}/escape-dir`);
await Deno.symlink(`${base}/secret.txt`, `${root}/trap/index.html`);
await Deno.writeTextFile(`${root}/leak.js`, "console.log('leak.js');\n");
await Deno.symlink(`${base}/secret.txt`, `${root}/leak.js.gz`);
await Deno.symlink(`${root}/.env`, `${root}/env-link.txt`);
await Deno.symlink(`${root}/sub/hello.txt`, `${root}/inside-link.txt`);
await Deno.symlink(`${root}/loop`, `${root}/loop`);
export const hostileName = `<img src=x onerror=alert(1)>.txt`;
await Deno.writeTextFile(`${root}/sub/${hostileName}`, "x");

/**
 * Deno 2.9 runs tests without the op and resource sanitizers unless asked (`--sanitize-ops`,
 * `--sanitize-resources`); these tests ask, so a file left open by a cancelled stream fails them.
 */
export function test(name: string, fn: () => Promise<void> | void, ignore = false): void {
  Deno.test({ name, fn, ignore, sanitizeOps: true, sanitizeResources: true });
}

export const opts: ServeDirOptions = { fsRoot: root };
const BASE_URL = "http://localhost";

export function get(path: string, headers: HeadersInit = {}, method = "GET"): Request {
  return new Request(BASE_URL + path, { method, headers });
}

/** serveDir, with the body read whole (so no test leaves a stream open). */
export async function fetchDir(
  path: string,
  headers: HeadersInit = {},
  options: ServeDirOptions = opts,
  method = "GET",
) {
  const response = await serveDir(get(path, headers, method), options);
  const body = new Uint8Array(await response.arrayBuffer());
  return { response, body, text: new TextDecoder().decode(body) };
}

export async function decompress(body: Uint8Array<ArrayBuffer>, format: string): Promise<string> {
  const stream = new Blob([body]).stream().pipeThrough(
    new DecompressionStream(format as CompressionFormat),
  );
  return await new Response(stream).text();
}

/** Byte equality without node:assert's diff, which takes minutes on megabytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The same instant in the three HTTP-date formats of RFC 9110 §5.6.7. */
export function httpDates(date: Date): string[] {
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const imf = date.toUTCString();
  const [, dd, mon, yyyy, time] = imf.split(" ");
  const rfc850 = `${days[date.getUTCDay()]}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`;
  const asctime = `${imf.slice(0, 3)} ${mon} ${
    String(date.getUTCDate()).padStart(2)
  } ${time} ${yyyy}`;
  return [imf, rfc850, asctime];
}

// Clean up after every test that imports this has run.
globalThis.addEventListener("unload", () => {
  Deno.removeSync(base, { recursive: true });
});
