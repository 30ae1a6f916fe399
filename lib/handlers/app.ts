/**
 * Loads a user's app module for `server.ts --app FILE`: the same shape `deno serve` runs, a
 * default export with a `fetch(request, info)` method (a {@link Router}, a Hono app, or a plain
 * object).
 *
 * @example
 * ```ts
 * import { loadApp } from "./app.ts";
 * import { serve } from "../mod.ts";
 * serve({ port: 8080 }, await loadApp("./app.ts"));
 * ```
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Handler, ServeHandlerInfo } from "../shared/types.ts";

export type { Handler, ServeHandlerInfo };

/**
 * Imports the module at `specifier` (a file path, resolved against `Deno.cwd()`, or a `file:`
 * URL) and returns its default export's `fetch`, bound to it. Throws an `Error` with a one-line
 * message when the file is missing or unreadable, fails to load, has no default export, or the
 * default export has no `fetch` method.
 *
 * @example
 * ```ts
 * // app.ts:  export default { fetch: () => new Response("hi") };
 * import { loadApp } from "./app.ts";
 * const handler = await loadApp("./app.ts");
 * ```
 */
export async function loadApp(specifier: string): Promise<Handler> {
  const path = toPath(specifier);
  await checkFile(path, specifier);

  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new Error(`cannot load app ${specifier}: ${withLocation(error)}`);
  }

  const app = module.default as { fetch?: unknown } | null | undefined;
  if (app === undefined) {
    throw new Error(
      `app ${specifier} has no default export (expected: export default { fetch(request, info) {…} })`,
    );
  }
  if (app === null || typeof app.fetch !== "function") {
    throw new Error(`app ${specifier}: the default export has no fetch(request, info) method`);
  }
  const fetch = app.fetch as Handler;
  return (request, info) => fetch.call(app, request, info);
}

/** A file path from a path or a `file:` URL; other URL schemes are refused. */
function toPath(specifier: string): string {
  if (specifier.startsWith("file:")) {
    try {
      return fileURLToPath(specifier);
    } catch (error) {
      throw new Error(`not a valid file URL: ${specifier} (${firstLine(error)})`);
    }
  }
  // A scheme, but not a Windows drive letter such as C:\.
  if (/^[a-z][a-z0-9+.-]+:/i.test(specifier) && !isAbsolute(specifier)) {
    throw new Error(`an app is a file path or a file: URL, not ${specifier}`);
  }
  return resolve(Deno.cwd(), specifier);
}

async function checkFile(path: string, specifier: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new Error(`app not found: ${specifier}`);
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new Error(`no permission to read app ${specifier} (run with --allow-read)`);
    }
    throw new Error(`cannot read app ${specifier}: ${firstLine(error)}`);
  }
  if (!info.isFile) throw new Error(`app ${specifier} is not a file`);
}

/**
 * The error's first line, with where it happened: a syntax error's `file:line:col` is on a later
 * line of Deno's message, an exception's in its stack. Shown as a path, which editors and
 * terminals open.
 */
function withLocation(error: unknown): string {
  const line = firstLine(error);
  const text = `${error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : ""}`
    // deno-lint-ignore no-control-regex -- Deno colours the location in some messages
    .replace(/\x1b\[[0-9;]*m/g, "");
  const at = /\bat (?:.*\()?(file:\/\/[^\s()]+?:\d+:\d+)/.exec(text);
  if (at === null) return line;
  let where = at[1];
  try {
    const [, url, position] = /^(.*?)(:\d+:\d+)$/.exec(where)!;
    where = fileURLToPath(url) + position;
  } catch {
    // keep the URL
  }
  return line.includes(where) ? line : `${line} at ${where}`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0].trim();
}
