/**
 * The directory server's extras the flags ask for, put around `serveDir`: uploads (`--upload`,
 * `--overwrite`), live reload (`--watch`: the watcher, the endpoint, the script in every page)
 * and Basic auth (`--auth`, for any handler); and the one-line warning when credentials or
 * uploads would cross a network in the clear.
 *
 * @module
 */

import type { CliConfig } from "./flags.ts";
import type { Handler } from "../shared/types.ts";
import { serveDir, type ServeDirOptions } from "../static/mod.ts";
import { receiveUpload, UPLOAD_ALLOW } from "../static/upload.ts";
import { LiveReload, withLiveReload } from "../handlers/live_reload.ts";
import { basicAuth } from "../handlers/auth.ts";
import { upgradeWebSocket } from "../engine/ws_upgrade.ts";
import { DEFAULT_LIMITS } from "../h1/errors.ts";
import { watchTree } from "./watch.ts";

/**
 * `serveDir` for `options`, with uploads and live reload when the configuration asks. What has
 * to be stopped when the server is (the watcher, the pages' sockets) is pushed on `cleanups`.
 */
export function directoryHandler(
  config: CliConfig,
  options: ServeDirOptions,
  cleanups: (() => void)[],
): Handler {
  const live = config.watch ? new LiveReload({ upgrade: (r) => upgradeWebSocket(r) }) : null;
  const served: ServeDirOptions = {
    ...options,
    uploadForm: config.upload,
    htmlSnippet: live?.snippet,
  };
  let handler: Handler = (request) => serveDir(request, served);
  if (config.upload) {
    const uploads = {
      fsRoot: options.fsRoot,
      dotfiles: options.dotfiles,
      followSymlinks: options.followSymlinks,
      overwrite: config.overwrite,
      maxBytes: config.maxBodyBytes ?? DEFAULT_LIMITS.maxBodyBytes,
    };
    const files = handler;
    handler = async (request, info) => {
      if (request.method === "PUT" || request.method === "POST") {
        return await receiveUpload(request, uploads);
      }
      const response = await files(request, info);
      // OPTIONS and 405 name the methods: uploads add two.
      if (response.headers.has("allow")) response.headers.set("allow", UPLOAD_ALLOW);
      return response;
    };
  }
  if (live !== null) {
    handler = withLiveReload(live, handler);
    const watcher = watchTree(options.fsRoot, (paths) => live.changed(paths), {
      dotfiles: options.dotfiles,
    });
    cleanups.push(() => {
      watcher.close();
      live.close();
    });
  }
  return handler;
}

/** `handler` behind Basic auth when `--auth` was given. */
export function withAuth(config: CliConfig, handler: Handler): Handler {
  return config.auth.length === 0 ? handler : basicAuth(handler, { credentials: config.auth });
}

/** Whether a `--host` value names only this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * The warning for passwords or uploads over plain HTTP on an address others can reach, or null.
 *
 * @example
 * ```ts
 * import { plainHttpWarning } from "./files.ts";
 * import { parseCommandLine } from "./flags.ts";
 * plainHttpWarning(parseCommandLine(["--host", "0.0.0.0", "--upload", "."])); // "tcp-http: warning: …"
 * ```
 */
export function plainHttpWarning(config: CliConfig): string | null {
  if (config.cert !== undefined || isLoopback(config.host)) return null;
  const what = [config.auth.length > 0 ? "passwords" : "", config.upload ? "uploads" : ""]
    .filter((s) => s !== "").join(" and ");
  if (what === "") return null;
  return `tcp-http: warning: ${what} travel in the clear over HTTP on ${config.host}; ` +
    `anyone on the network can read them (use --cert/--key, or --host localhost)`;
}
