/**
 * A directory's HTML index: directories first, then files, each by name, with size and date and
 * a parent link below the top. Names are escaped as text and percent-encoded in hrefs, so a file
 * named `<img src=x onerror=alert(1)>.txt` shows as text.
 *
 * @module
 */

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

interface ListingEntry {
  name: string;
  dir: boolean;
  size: number;
  mtime: Date | null;
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
  entries.sort((a, b) => a.dir !== b.dir ? (a.dir ? -1 : 1) : a.name < b.name ? -1 : 1);

  const prefix = urlPrefix(options.urlRoot);
  const title = escapeHtml(`/${[...prefix, ...segments].map((s) => `${s}/`).join("")}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? "/" : "");
    const label = escapeHtml(e.name) + (e.dir ? "/" : "");
    const size = e.dir ? "-" : formatSize(e.size);
    const date = e.mtime ? e.mtime.toISOString().replace("T", " ").slice(0, 16) : "-";
    return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td>${date}</td></tr>`;
  });
  if (segments.length > 0) {
    rows.unshift(`<tr><td><a href="../">../</a></td><td></td><td></td></tr>`);
  }
  const html = encoder.encode(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Index of ${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td{padding:.2rem 1.2rem .2rem 0}td:nth-child(2){text-align:right}</style>
</head>
<body>
<h1>Index of ${title}</h1>
<table>
<tr><th align="left">Name</th><th>Size</th><th align="left">Modified</th></tr>
${rows.join("\n")}
</table>
</body>
</html>
`);
  const headers = {
    "content-type": "text/html; charset=utf-8",
    "content-length": String(html.length),
  };
  return new Response(request.method === "HEAD" ? null : html, { headers });
}
