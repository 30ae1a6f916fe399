/**
 * Static files: `serveDir` for a directory, `serveFile` for one file, each a handler-side
 * function that takes a `Request` and gives a `Response`, so they work under our server, under
 * `Deno.serve` and mounted in a router alike. See docs/static.md.
 *
 * @module
 */

export { serveDir, serveFile } from "./serve.ts";
export type { ServeDirOptions, ServeFileOptions } from "./options.ts";
export { parseRange } from "./range.ts";
export { smallFileCache } from "./cache.ts";
export { contentType, isCompressible } from "./mime.ts";
export { receiveUpload, UPLOAD_ALLOW, type UploadOptions, validFileName } from "./upload.ts";
export { boundaryOf, MultipartError, type MultipartPart, MultipartReader } from "./multipart.ts";
export { injectSnippet } from "./inject.ts";
