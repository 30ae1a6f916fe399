/**
 * File extensions to media types: the database the rest of the ecosystem uses (npm `mime-db`,
 * behind `mime-types`, `send` and `serve`), with our own rules on top for what browsers need:
 *
 * - **The web platform's types** ({@link WEB}): `.js`, `.mjs`, `.cjs` are JavaScript (module
 *   scripts fail a strict MIME check otherwise; mime-db says `application/node` for `.cjs`), and a
 *   few types browsers know better than mime-db's pick (`image/x-icon`, `audio/flac`, …).
 * - **Source code is text to read** ({@link SOURCE}): a browser runs none of `.ts`, `.tsx`,
 *   `.jsx`, `.py`, `.sh`, `.wgsl` …, and mime-db either lacks them or gives types a browser
 *   downloads (`video/mp2t` for `.ts`, `application/x-sh`, `application/x-httpd-php`). They are
 *   served as `text/plain`, the one text type every browser shows. Deno's module loader takes a
 *   `text/plain` module's language from its extension, so `deno run http://host/mod.ts` (or a
 *   `.tsx`, `.jsx`) still works.
 * - **Charset**: text (`text/*`, JavaScript, JSON, XML and a few more) gets `; charset=utf-8`.
 *
 * Where mime-db lists several types for an extension, the choice is `mime-types`': the better
 * source (IANA, then none given, Apache, nginx), on a tie a type outside `application/`.
 *
 * @module
 */

// A full npm: specifier, not the bare "mime-db" of deno.json's imports (which pins the same
// version for the lock file): lib/ must load without our deno.json too (`deno run --no-config`,
// or imported from another project).
// deno-lint-ignore no-import-prefix -- see above
import db from "npm:mime-db@1.54.0/db.json" with { type: "json" };

/** What mime-db says about one type (only what is used here). */
interface MimeEntry {
  source?: string;
  extensions?: string[];
}

/** Better sources rank higher, as in `mime-types`. */
const SOURCE_RANK: Record<string, number> = { nginx: 0, apache: 1, iana: 3 };

function rank(type: string): number {
  return SOURCE_RANK[(db as Record<string, MimeEntry>)[type]?.source ?? ""] ?? 2;
}

/** Ours over mime-db's: what browsers need, where mime-db's pick differs or is missing. */
const WEB: Record<string, string> = {
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  wasm: "application/wasm",
  webmanifest: "application/manifest+json",
  map: "application/json",
  // RFC 7303 prefers application/xml; mime-db's tie-break picks text/xml.
  xml: "application/xml",
  // The type favicons have always been served with; mime-db picks image/vnd.microsoft.icon.
  ico: "image/x-icon",
  // mime-db's image/pjpeg is Internet Explorer's progressive JPEG.
  jfif: "image/jpeg",
  flac: "audio/flac",
  m4v: "video/mp4",
  ndjson: "application/x-ndjson",
  tgz: "application/gzip",
  zst: "application/zstd",
};

/** Source code and configuration no browser runs: `text/plain`, so browsers show it. */
const SOURCE = [
  // TypeScript and JSX (mime-db: video/mp2t, model/vnd.mts, text/jsx, nothing for .tsx)
  "ts",
  "mts",
  "cts",
  "tsx",
  "jsx",
  // Shaders
  "wgsl",
  "glsl",
  "vert",
  "frag",
  // Scripts and programs
  "py",
  "pyi",
  "sh",
  "bash",
  "zsh",
  "fish",
  "ps1",
  "bat",
  "cmd",
  "rb",
  "pl",
  "php",
  "lua",
  "go",
  "rs",
  "c",
  "h",
  "cc",
  "cpp",
  "hpp",
  "cs",
  "java",
  "kt",
  "kts",
  "swift",
  "scala",
  "dart",
  "zig",
  "hs",
  "ml",
  "ex",
  "exs",
  "erl",
  "clj",
  "r",
  "jl",
  "sql",
  "vue",
  "svelte",
  "astro",
  "proto",
  "graphql",
  "gql",
  // Configuration, patches, logs
  "ini",
  "cfg",
  "conf",
  "env",
  "jsonc",
  "json5",
  "lock",
  "diff",
  "patch",
  "log",
  "tex",
];

/** Extension (lower case) → media type, built once from mime-db and the rules above. */
const TYPES: Map<string, string> = buildTypes();

function buildTypes(): Map<string, string> {
  const types = new Map<string, string>();
  for (const [type, entry] of Object.entries(db as Record<string, MimeEntry>)) {
    for (const extension of entry.extensions ?? []) {
      const old = types.get(extension);
      // mime-types' choice: keep the type found first unless it is octet-stream, or the new one
      // has a better source, or as good a source and the old one is an application/ type.
      if (
        old !== undefined && old !== "application/octet-stream" &&
        (rank(old) > rank(type) || (rank(old) === rank(type) && !old.startsWith("application/")))
      ) continue;
      types.set(extension, type);
    }
  }
  for (const extension of SOURCE) types.set(extension, "text/plain");
  for (const [extension, type] of Object.entries(WEB)) types.set(extension, type);
  return types;
}

/** Text types outside text/*, JSON and XML. */
const TEXT_APPLICATION = new Set([
  "application/javascript",
  "application/yaml",
  "application/toml",
  "application/x-ndjson",
  "application/x-subrip",
]);

/** Types that are text, so they carry `charset=utf-8`, and compress well. */
function isText(type: string): boolean {
  return type.startsWith("text/") || type.endsWith("/json") || type.endsWith("+json") ||
    type.endsWith("/xml") || type.endsWith("+xml") || TEXT_APPLICATION.has(type);
}

/**
 * The `Content-Type` for a file name, with `charset=utf-8` on text; undefined when unknown.
 *
 * @example
 * ```ts
 * import { contentType } from "./mime.ts";
 * contentType("app.mjs"); // "text/javascript; charset=utf-8"
 * contentType("font.woff2"); // "font/woff2"
 * contentType("main.py"); // "text/plain; charset=utf-8"
 * ```
 */
export function contentType(path: string): string | undefined {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dot = path.lastIndexOf(".");
  if (dot <= slash + 1) return undefined; // no extension, or a dotfile's name
  const type = TYPES.get(path.slice(dot + 1).toLowerCase());
  if (type === undefined) return undefined;
  return isText(type) ? `${type}; charset=utf-8` : type;
}

/**
 * Whether a response of this type is worth compressing: text, and a few binary formats that are
 * not compressed already. (Not mime-db's `compressible`, which says yes to
 * `application/octet-stream`: an unknown file is as likely an archive as not.)
 *
 * @example
 * ```ts
 * import { isCompressible } from "./mime.ts";
 * isCompressible("text/css; charset=utf-8"); // true
 * isCompressible("image/png"); // false
 * ```
 */
export function isCompressible(type: string): boolean {
  const bare = type.split(";")[0].trim().toLowerCase();
  return isText(bare) || COMPRESSIBLE_BINARY.has(bare);
}

/** Binary formats that are not compressed already (unlike images, video, woff2, archives). */
const COMPRESSIBLE_BINARY = new Set([
  "application/wasm",
  "application/vnd.apple.mpegurl",
  "image/x-icon",
  "image/vnd.microsoft.icon",
  "image/bmp",
  "font/ttf",
  "font/otf",
  "application/vnd.ms-fontobject",
]);
