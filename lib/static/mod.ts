/**
 * Static files: `serveDir` for a directory, `serveFile` for one file, each a handler-side
 * function that takes a `Request` and gives a `Response`, so they work under our server, under
 * `Deno.serve` and mounted in a router alike. See docs/static.md.
 *
 * @module
 */

export {
  parseRange,
  serveDir,
  type ServeDirOptions,
  serveFile,
  type ServeFileOptions,
  smallFileCache,
} from "./serve.ts";
export { contentType, isCompressible } from "./mime.ts";
