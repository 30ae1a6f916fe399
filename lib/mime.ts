/**
 * File extensions to media types, covering what browsers load: documents, scripts and modules
 * (`.mjs` must be JavaScript or module scripts fail), WebAssembly, fonts, images, audio, video.
 *
 * @module
 */

const TYPES: Record<string, string> = {
  // Documents and data
  html: "text/html",
  htm: "text/html",
  xhtml: "application/xhtml+xml",
  css: "text/css",
  txt: "text/plain",
  text: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  xml: "application/xml",
  json: "application/json",
  jsonld: "application/ld+json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  yaml: "application/yaml",
  yml: "application/yaml",
  toml: "application/toml",
  ics: "text/calendar",
  vtt: "text/vtt",
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  pdf: "application/pdf",
  // Code
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  ts: "text/typescript",
  wasm: "application/wasm",
  // Images
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  ico: "image/x-icon",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  apng: "image/apng",
  // Fonts
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  // Audio and video
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/opus",
  flac: "audio/flac",
  m4a: "audio/mp4",
  aac: "audio/aac",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  ogv: "video/ogg",
  mov: "video/quicktime",
  mkv: "video/x-matroska",
  // Archives and binaries
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  br: "application/octet-stream",
  bin: "application/octet-stream",
  exe: "application/octet-stream",
  "7z": "application/x-7z-compressed",
};

/** Types that are text, so they carry `charset=utf-8`, and compress well. */
function isText(type: string): boolean {
  return type.startsWith("text/") || type === "application/json" || type.endsWith("+json") ||
    type === "application/xml" || type.endsWith("+xml") || type === "application/yaml" ||
    type === "application/toml";
}

/**
 * The `Content-Type` for a file name, with `charset=utf-8` on text; undefined when unknown.
 *
 * @example
 * ```ts
 * import { contentType } from "./mime.ts";
 * contentType("app.mjs"); // "text/javascript; charset=utf-8"
 * contentType("font.woff2"); // "font/woff2"
 * ```
 */
export function contentType(path: string): string | undefined {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dot = path.lastIndexOf(".");
  if (dot <= slash + 1) return undefined; // no extension, or a dotfile's name
  const type = TYPES[path.slice(dot + 1).toLowerCase()];
  if (type === undefined) return undefined;
  return isText(type) ? `${type}; charset=utf-8` : type;
}

/**
 * Whether a response of this type is worth compressing: text, and a few binary formats that are
 * not compressed already.
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
  return isText(bare) || bare === "image/svg+xml" || bare === "application/wasm" ||
    bare === "image/x-icon" || bare === "image/bmp" || bare === "font/ttf" ||
    bare === "font/otf" || bare === "application/vnd.ms-fontobject";
}
