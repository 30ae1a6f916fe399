/**
 * `--watch`: the served directory watched with `Deno.watchFs`, its changes gathered for a short
 * while (an editor's save is several events: a temporary file, a rename, a modify) and handed on
 * once as URL paths, for live reload. Hidden names (dotfiles, editors' swap files, uploads in
 * progress) and backup files (`name~`) are not changes anyone sees, so they are left out unless
 * dotfiles are served.
 *
 * @module
 */

/** A running watcher. */
export interface TreeWatcher {
  /** Stops watching (idempotent). */
  close(): void;
}

/** Options of {@link watchTree}. */
export interface WatchOptions {
  /** Milliseconds of quiet before the changes gathered are handed on. @default {100} */
  debounceMs?: number;
  /** Report changes to names starting with a dot. @default {false} */
  dotfiles?: boolean;
}

/**
 * The URL path (decoded) of `path` under `root`, or null when it is outside it, or hidden and
 * not wanted.
 *
 * @example
 * ```ts
 * import { urlPathOf } from "./watch.ts";
 * urlPathOf("/srv/site", "/srv/site/css/main.css", false); // "/css/main.css"
 * urlPathOf("/srv/site", "/srv/site/.index.html.swp", false); // null
 * ```
 */
export function urlPathOf(root: string, path: string, dotfiles: boolean): string | null {
  const slashed = path.replaceAll("\\", "/");
  const base = root.replaceAll("\\", "/").replace(/\/+$/, "");
  if (slashed !== base && !slashed.startsWith(`${base}/`)) return null;
  const segments = slashed.slice(base.length).split("/").filter((s) => s !== "");
  if (!dotfiles && segments.some((s) => s.startsWith("."))) return null;
  if (segments.at(-1)?.endsWith("~")) return null;
  return `/${segments.join("/")}`;
}

/**
 * Watches `root` recursively and calls `onChange` with the URL paths that changed, once per
 * burst of events (`debounceMs` after the last one).
 */
export function watchTree(
  root: string,
  onChange: (paths: string[]) => void,
  options: WatchOptions = {},
): TreeWatcher {
  const debounceMs = options.debounceMs ?? 100;
  const watcher = Deno.watchFs(root, { recursive: true });
  const pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const flush = () => {
    timer = undefined;
    const paths = [...pending];
    pending.clear();
    if (paths.length > 0) onChange(paths);
  };
  (async () => {
    try {
      for await (const event of watcher) {
        if (event.kind === "access") continue;
        for (const path of event.paths) {
          const url = urlPathOf(root, path, options.dotfiles === true);
          if (url !== null) pending.add(url);
        }
        if (pending.size > 0) {
          clearTimeout(timer);
          timer = setTimeout(flush, debounceMs);
        }
      }
    } catch (error) {
      if (!closed) console.error(`tcp-http: --watch stopped: ${(error as Error).message}`);
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      try {
        watcher.close();
      } catch {
        // already closed
      }
    },
  };
}
