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
  ndjson: "application/x-ndjson",
  srt: "application/x-subrip",
  atom: "application/atom+xml",
  pdf: "application/pdf",
  rtf: "application/rtf",
  epub: "application/epub+zip",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  odp: "application/vnd.oasis.opendocument.presentation",
  // Code
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  // Source to read, not to run: a Deno project's .ts files show as text in a browser. (The
  // mime-db answer, video/mp2t for MPEG transport streams, makes browsers download them.)
  ts: "text/typescript",
  mts: "text/typescript",
  cts: "text/typescript",
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
  jfif: "image/jpeg",
  jxl: "image/jxl",
  heic: "image/heic",
  heif: "image/heif",
  // 3D models
  glb: "model/gltf-binary",
  gltf: "model/gltf+json",
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
  mpeg: "video/mpeg",
  mpg: "video/mpeg",
  avi: "video/x-msvideo",
  "3gp": "video/3gpp",
  weba: "audio/webm",
  m3u8: "application/vnd.apple.mpegurl",
  mpd: "application/dash+xml",
  // Archives and binaries
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  br: "application/octet-stream",
  bin: "application/octet-stream",
  exe: "application/octet-stream",
  "7z": "application/x-7z-compressed",
  xz: "application/x-xz",
  bz2: "application/x-bzip2",
  zst: "application/zstd",
  rar: "application/vnd.rar",
  jar: "application/java-archive",
  iso: "application/x-iso9660-image",
  dmg: "application/x-apple-diskimage",
  apk: "application/vnd.android.package-archive",
};

/** Text types outside text/*, JSON and XML. */
const TEXT_APPLICATION = new Set([
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
 * ```
 */
export function contentType(path: string): string | undefined {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dot = path.lastIndexOf(".");
  if (dot <= slash + 1) return undefined; // no extension, or a dotfile's name
  const extension = path.slice(dot + 1).toLowerCase();
  // Own keys only: "x.constructor" must not find Object.prototype.constructor.
  if (!Object.hasOwn(TYPES, extension)) return undefined;
  const type = TYPES[extension];
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
  return isText(bare) || COMPRESSIBLE_BINARY.has(bare);
}

/** Binary formats that are not compressed already (unlike images, video, woff2, archives). */
const COMPRESSIBLE_BINARY = new Set([
  "application/wasm",
  "application/vnd.apple.mpegurl",
  "image/x-icon",
  "image/bmp",
  "font/ttf",
  "font/otf",
  "application/vnd.ms-fontobject",
]);
