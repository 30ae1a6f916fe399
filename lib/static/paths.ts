/**
 * From a request path to a file-system path that cannot leave the root: the URL path as names
 * (`..`, encoded slashes and backslashes, NUL, drive letters and bad percent-encoding refused,
 * never resolved), the root's real path, and the guard every opened path passes (symlinks out of
 * the root, dotfiles).
 *
 * @module
 */

import { BoundedMap } from "../shared/bounded_map.ts";
import type { ServeDirOptions } from "./options.ts";

/** Why a request path cannot be served; serveDir maps it to 400 or 404 in one place. */
export class Refused extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/**
 * Names that no URL path of ours reaches, and that must never be joined into one: a slash or
 * backslash (a separator on some OS), NUL, or a drive letter (`C:` on Windows).
 */
const UNSERVABLE = /[\/\\\0]|^[A-Za-z]:/;

/** Whether a decoded segment or a directory entry's name is one no request may name. */
export function unservable(name: string): boolean {
  return UNSERVABLE.test(name);
}

/** `urlRoot`'s segments, the prefix a request path must start with. */
export function urlPrefix(urlRoot: string | undefined): string[] {
  return (urlRoot ?? "").split("/").filter((s) => s !== "");
}

/**
 * The URL path as file-system names, refusing anything that could step outside the root: `..`,
 * encoded slashes and backslashes, NUL, drive letters, invalid percent-encoding (400); names
 * starting with a dot unless `dotfiles` (404). `urlRoot`'s segments are stripped first.
 */
export function safeSegments(pathname: string, options: ServeDirOptions): readonly string[] {
  // A pure function of these three, so its answers are kept (refusals too).
  const key = `${options.dotfiles ? "d" : "-"}${options.urlRoot ?? ""}\0${pathname}`;
  let answer = segmentAnswers.get(key);
  if (answer === undefined) {
    try {
      answer = Object.freeze(splitSegments(pathname, options));
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      answer = error;
    }
    if (pathname.length <= SEGMENTS_KEY_MAX) segmentAnswers.set(key, answer);
  }
  if (answer instanceof Refused) throw answer;
  return answer;
}

const segmentAnswers = new BoundedMap<string, readonly string[] | Refused>(1024);
/** Longer paths are checked every time, so the map stays small (at most ~1 MiB of keys). */
const SEGMENTS_KEY_MAX = 1024;

function splitSegments(pathname: string, options: ServeDirOptions): string[] {
  const segments: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new Refused(400, "Bad Request: invalid percent-encoding");
    }
    // A URL parser removes dot segments before we see them (RFC 3986 §5.2.4), but not every
    // caller builds its Request with one, and "%2e%2e" may survive: refuse rather than resolve.
    if (segment === "." || segment === ".." || unservable(segment)) {
      throw new Refused(400, "Bad Request: invalid path");
    }
    segments.push(segment);
  }
  const prefix = urlPrefix(options.urlRoot);
  if (prefix.some((s, i) => segments[i] !== s)) throw new Refused(404, "Not Found");
  const names = segments.slice(prefix.length);
  if (!options.dotfiles && names.some((s) => s.startsWith("."))) {
    throw new Refused(404, "Not Found");
  }
  return names;
}

/** File-system paths with forward slashes, so containment is one prefix test on every OS. */
const slashes = Deno.build.os === "windows"
  ? (path: string) => path.replaceAll("\\", "/")
  : (path: string) => path;

/** Roots resolved before, by `fsRoot` as given. */
const rootCache = new BoundedMap<string, string>(64);

/**
 * `fsRoot`'s real path if it was resolved before. Looked up apart from {@link realRoot} so that
 * a hit costs no `await`, which would cost a turn of the event loop.
 */
export function knownRoot(fsRoot: string): string | undefined {
  return rootCache.get(fsRoot);
}

/** `fsRoot` with its symlinks resolved and no trailing slash; the guard compares against it. */
export async function realRoot(fsRoot: string): Promise<string> {
  const root = slashes(await Deno.realPath(fsRoot)).replace(/\/+$/, "");
  rootCache.set(fsRoot, root);
  return root;
}

/**
 * Whether a path that exists may be served (every file opened goes through it first). Given the
 * path's fresh `stat`, a path that passed before and still names the same file (device, inode,
 * mtime) passes without resolving it again.
 */
export type Guard = (path: string, info?: Deno.FileInfo) => boolean;

/** Paths the guard let through, with the identity of the file they named then. */
const verified = new BoundedMap<string, string>(4096);

function identity(info: Deno.FileInfo | undefined): string | null {
  // Without an inode (Windows) a file cannot be told apart from one swapped in its place.
  if (info?.ino === null || info?.ino === undefined) return null;
  return `${info.dev}:${info.ino}:${info.mtime?.getTime()}`;
}

/**
 * Resolves symlinks: the real path must lie inside the root, unless `followSymlinks`, and, unless
 * `dotfiles`, must not pass through a dot-name (a link to `.env` is still `.env`). Note that
 * `--allow-read=ROOT` does not stop a symlink out of ROOT: Deno checks the path asked for, not
 * where it leads, so this check is the one that counts.
 */
export function rootGuard(root: string, options: ServeDirOptions): Guard {
  if (options.followSymlinks && options.dotfiles) return () => true;
  const policy = `${options.followSymlinks ? "s" : "-"}${options.dotfiles ? "d" : "-"}:`;
  const check = (path: string) => {
    const real = slashes(Deno.realPathSync(path));
    if (real !== root && !real.startsWith(`${root}/`)) return options.followSymlinks === true;
    return options.dotfiles === true ||
      !real.slice(root.length).split("/").some((s) => s.startsWith("."));
  };
  return (path, info) => {
    // Resolving every component costs more than the rest of serving a cached file. If the path
    // still names the file that passed (a link swapped in would name another inode, or the same
    // file, which was allowed), the verdict stands.
    const id = identity(info);
    const key = policy + path;
    if (id !== null && verified.get(key) === id) return true;
    const ok = check(path);
    if (ok && id !== null) verified.set(key, id);
    return ok;
  };
}

/** The guard's verdict, with a path that vanished or loops counted as not allowed. */
export function allowed(guard: Guard, path: string, info?: Deno.FileInfo): boolean {
  try {
    return guard(path, info);
  } catch {
    return false;
  }
}
