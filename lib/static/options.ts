/**
 * The options of `serveDir` and `serveFile`, apart so that every piece of the folder can name
 * the ones it reads without importing the functions that take them.
 *
 * @module
 */

/** Options for `serveDir`. */
export interface ServeDirOptions {
  /** The directory to serve. */
  fsRoot: string;
  /**
   * A URL path prefix to strip before mapping into `fsRoot` (e.g. "static" serves
   * `/static/app.js` from `fsRoot/app.js`); other paths get 404.
   * @default {""}
   */
  urlRoot?: string;
  /** Answer directories without index.html with an HTML listing (404 when off). @default {true} */
  listing?: boolean;
  /** Serve files and directories whose name starts with a dot (404 when off). @default {false} */
  dotfiles?: boolean;
  /** Follow symlinks that resolve outside `fsRoot` (404 when off). @default {false} */
  followSymlinks?: boolean;
  /**
   * Single-page apps: a path that does not exist, requested by something that accepts
   * `text/html` (a browser navigation, not a script or image), gets `/index.html` with 200.
   * @default {false}
   */
  spa?: boolean;
  /**
   * `Access-Control-Allow-Origin: *` on every response, and preflights answered with 204.
   * @default {false}
   */
  cors?: boolean;
  /** Headers added to every response, replacing any of the same name. @default {[]} */
  headers?: [string, string][];
  /**
   * `Cache-Control` for files. None by default: caches revalidate with the ETag, and a changed
   * file is never served stale.
   * @default {undefined}
   */
  cacheControl?: string;
  /**
   * Content codings: precompressed `x.br`/`x.gz` siblings and on-the-fly gzip (brotli too, for
   * small files) of compressible types over 1 KiB.
   * @default {true}
   */
  compress?: boolean;
  /** A strong `ETag` from size, mtime and inode (`Last-Modified` is always sent). @default {true} */
  etag?: boolean;
  /**
   * HTML put before `</body>` of every HTML file and listing sent whole (live reload's script).
   * Such a page is read and changed in memory: ranges are ignored for it (200, `Accept-Ranges:
   * none`), precompressed siblings are not used, and it is compressed on the fly as negotiated,
   * with its own `ETag` and exact `Content-Length`. Nothing else is changed.
   * @default {undefined}
   */
  htmlSnippet?: string;
  /** Listings show a form that uploads files into the directory (`POST`, multipart). @default {false} */
  uploadForm?: boolean;
}

/** Options for `serveFile`. */
export type ServeFileOptions = Pick<
  ServeDirOptions,
  "compress" | "etag" | "cacheControl" | "headers" | "htmlSnippet"
>;

/** What serving one file reads: serveFile's options, and serveDir's `cors` for its fields. */
export type FileOptions = ServeFileOptions & Pick<ServeDirOptions, "cors">;
