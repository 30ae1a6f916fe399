/**
 * A directory's HTML index: directories first, then files, in natural order (f1, f2, f10) by
 * name, or by size or date from the query string (`?sort=size&order=desc`, links in the column
 * heads); breadcrumbs to each parent; light and dark colours (`prefers-color-scheme`); an upload
 * form when uploads are on. Names are escaped as text and percent-encoded in hrefs, so a file
 * named `<img src=x onerror=alert(1)>.txt` shows as text. The page is compressed as negotiated,
 * like any HTML file (inject.ts).
 *
 * @module
 */

import type { Fields } from "./fields.ts";
import { encodeBody, injectSnippet } from "./inject.ts";
import { bodyCoding } from "./negotiate.ts";
import type { ServeDirOptions } from "./options.ts";
import { allowed, type Guard, unservable, urlPrefix } from "./paths.ts";
import { statOrNull } from "./stat.ts";

const encoder = new TextEncoder();

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

/** One row of the index. */
export interface ListingEntry {
  name: string;
  dir: boolean;
  size: number;
  mtime: Date | null;
}

/** What the index can be sorted by. */
export type SortKey = "name" | "size" | "date";

/** Names compared as people read them: digit runs as numbers, case and accents second. */
const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Natural order, then by code units so that the order is total (`a` and `A` never tie). */
export function compareNames(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Sorts `entries` in place: directories first, then by `key` in `order`, ties by name (always
 * ascending, so equal sizes read naturally).
 *
 * @example
 * ```ts
 * import { sortEntries } from "./listing.ts";
 * const entries = ["f10", "f2", "f1"].map((name) => ({ name, dir: false, size: 0, mtime: null }));
 * sortEntries(entries, "name", "asc").map((e) => e.name); // ["f1", "f2", "f10"]
 * ```
 */
export function sortEntries(
  entries: ListingEntry[],
  key: SortKey,
  order: "asc" | "desc",
): ListingEntry[] {
  const sign = order === "desc" ? -1 : 1;
  const time = (e: ListingEntry) => e.mtime?.getTime() ?? 0;
  return entries.sort((a, b) => {
    if (a.dir !== b.dir) return a.dir ? -1 : 1;
    const by = key === "size" ? a.size - b.size : key === "date" ? time(a) - time(b) : 0;
    return sign * by || (key === "name" ? sign : 1) * compareNames(a.name, b.name);
  });
}

/** The sort the query string asks for; anything unknown is the default, by name ascending. */
export function sortOf(search: URLSearchParams): { key: SortKey; order: "asc" | "desc" } {
  const asked = search.get("sort");
  const key: SortKey = asked === "size" || asked === "date" ? asked : "name";
  return { key, order: search.get("order") === "desc" ? "desc" : "asc" };
}

const STYLE = `:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;
--row:#f6f8fa;--link:#0969da;--dir:#9a6700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;
--line:#30363d;--row:#161b22;--link:#4493f8;--dir:#d29922}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.25rem;font-weight:600;margin:0 0 1rem;word-break:break-all}
h1 a{color:var(--link);text-decoration:none}h1 a:hover{text-decoration:underline}
table{width:100%;border-collapse:collapse;border:1px solid var(--line);border-radius:6px}
th,td{padding:.45rem .75rem;text-align:left;border-top:1px solid var(--line)}
th{font-weight:600;font-size:.85rem;color:var(--muted);background:var(--row);border-top:0}
th a{color:inherit;text-decoration:none}th a:hover{color:var(--link)}
td:nth-child(2),th:nth-child(2){text-align:right;white-space:nowrap;width:7rem}
td:nth-child(3),th:nth-child(3){white-space:nowrap;width:10.5rem;color:var(--muted)}
td:nth-child(3){font-variant-numeric:tabular-nums}td:nth-child(2){font-variant-numeric:tabular-nums}
tbody tr:hover{background:var(--row)}
td a{color:var(--link);text-decoration:none;word-break:break-all}td a:hover{text-decoration:underline}
tr.dir td:first-child a{color:var(--fg);font-weight:600}
tr.dir td:first-child a::before{content:"";display:inline-block;width:.8em;height:.65em;
margin-right:.5em;border-radius:2px;background:var(--dir)}
tr.file td:first-child a::before{content:"";display:inline-block;width:.6em;height:.75em;
margin:0 .6em 0 .1em;border:1.5px solid var(--muted);border-radius:2px;vertical-align:-.05em}
footer{margin-top:.75rem;color:var(--muted);font-size:.85rem}
form{margin:0 0 1rem;padding:.75rem;border:1px dashed var(--line);border-radius:6px;
display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:.3rem .9rem;border:1px solid var(--line);border-radius:6px;
background:var(--row);color:var(--fg);cursor:pointer}`;

/**
 * The title's path as breadcrumbs: every ancestor a link (relative, so the page works under any
 * prefix), the prefix a caller strips (`urlRoot`, which serveDir does not serve above) as text,
 * and the directory itself as text.
 */
function breadcrumbs(prefix: readonly string[], segments: readonly string[]): string {
  const all = ["", ...prefix, ...segments];
  const depth = all.length - 1;
  return all.map((name, i) => {
    const label = escapeHtml(name === "" ? "/" : `${name}/`);
    const linked = i < depth && i >= prefix.length;
    const crumb = linked ? `<a href="${"../".repeat(depth - i)}">${label}</a>` : label;
    return crumb;
  }).join("");
}

/** A column head: a link that sorts by it, ascending, or reversed when it is the sort already. */
function head(label: string, key: SortKey, sort: ReturnType<typeof sortOf>): string {
  const current = sort.key === key;
  const order = current && sort.order === "asc" ? "desc" : "asc";
  const arrow = current ? (sort.order === "asc" ? " ↑" : " ↓") : "";
  const aria = current ? ` aria-sort="${sort.order === "asc" ? "ascending" : "descending"}"` : "";
  return `<th${aria}><a href="?sort=${key}&amp;order=${order}">${label}${arrow}</a></th>`;
}

/**
 * An HTML index of `dir`, the directory `segments` name under the root. Left out: dotfiles
 * (unless `dotfiles`), symlinks that lead out of the root (unless `followSymlinks`, which `guard`
 * knows), and names no URL could reach (a backslash, say).
 */
export async function listing(
  request: Request,
  dir: string,
  segments: readonly string[],
  options: ServeDirOptions,
  guard: Guard,
): Promise<Response> {
  const entries: ListingEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const { name } = entry;
    if (name.startsWith(".") && !options.dotfiles) continue;
    if (unservable(name)) continue;
    const path = `${dir}/${name}`;
    if (entry.isSymlink && !allowed(guard, path)) continue;
    const info = statOrNull(path); // null: it vanished, or a dangling symlink
    entries.push({
      name,
      dir: info?.isDirectory ?? entry.isDirectory,
      size: info?.size ?? 0,
      mtime: info?.mtime ?? null,
    });
  }
  const sort = sortOf(new URL(request.url).searchParams);
  sortEntries(entries, sort.key, sort.order);

  const prefix = urlPrefix(options.urlRoot);
  const title = escapeHtml(`/${[...prefix, ...segments].map((s) => `${s}/`).join("")}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? "/" : "");
    const label = escapeHtml(e.name) + (e.dir ? "/" : "");
    const size = e.dir ? "—" : formatSize(e.size);
    const date = e.mtime ? e.mtime.toISOString().replace("T", " ").slice(0, 16) : "—";
    return `<tr class="${e.dir ? "dir" : "file"}"><td><a href="${href}">${label}</a></td>` +
      `<td>${size}</td><td>${date}</td></tr>`;
  });
  if (segments.length > 0) {
    rows.unshift(`<tr class="up"><td><a href="../">../</a></td><td></td><td></td></tr>`);
  }
  const dirs = entries.filter((e) => e.dir).length;
  const files = entries.length - dirs;
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const form = options.uploadForm
    ? `<form method="post" action="./" enctype="multipart/form-data">` +
      `<input type="file" name="file" multiple required><button>Upload</button></form>\n`
    : "";
  const page = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Index of ${title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${breadcrumbs(prefix, segments)}</h1>
${form}<table>
<thead><tr>${head("Name", "name", sort)}${head("Size", "size", sort)}${
    head("Modified (UTC)", "date", sort)
  }</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
<footer>${count(dirs, "directory", "directories")}, ${count(files, "file", "files")}</footer>
</main>
</body>
</html>
`;
  let html = encoder.encode(page);
  if (options.htmlSnippet !== undefined) html = injectSnippet(html, options.htmlSnippet);
  const coding = options.compress === false ? null : bodyCoding(request, html.length);
  const body = await encodeBody(html, coding);
  const headers: Fields = {
    "content-type": "text/html; charset=utf-8",
    "content-length": String(body.length),
    // A listing changes with the directory: always asked for again.
    "cache-control": "no-cache",
  };
  if (options.compress !== false) headers["vary"] = "Accept-Encoding";
  if (coding) headers["content-encoding"] = coding;
  return new Response(request.method === "HEAD" ? null : body, { headers });
}
