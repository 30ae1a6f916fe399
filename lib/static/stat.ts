/**
 * The file-system calls static files make: `stat` as of a moment after the request arrived (one
 * stat serving every request that arrived before it), and `open`.
 *
 * They are synchronous on purpose: the async ops go through a thread pool and cost many times
 * more, and these are answered from the kernel's inode cache. A root on a slow network file
 * system would stall the event loop while they wait (docs/static.md, "Why it is built this
 * way"). File contents are always read asynchronously.
 *
 * @module
 */

import { arrivalOf, lookedUpSince, type Lookup, lookupStarting } from "../shared/arrival.ts";
import { BoundedMap } from "../shared/bounded_map.ts";

/** A stat's outcome, kept for the requests that arrived before it was made. */
interface RecentStat {
  lookup: Lookup;
  info: Deno.FileInfo | null;
  error: unknown;
}
const recentStats = new BoundedMap<string, RecentStat>(1024);

/**
 * `Deno.statSync(path)` (throwing what it throws) as of a moment after `request` arrived: a stat
 * made since then, for another request, serves this one too (see lib/shared/arrival.ts), so a
 * server busy with one file stats it about once per turn of the event loop, not once per request.
 * Without a request, or one our connection did not make, the stat is made now.
 */
export function statFor(path: string, request?: Request): Deno.FileInfo {
  const arrival = request && arrivalOf(request);
  if (arrival === undefined) return Deno.statSync(path);
  let stat = recentStats.get(path);
  if (stat === undefined || !lookedUpSince(stat.lookup, arrival)) {
    const lookup = lookupStarting();
    try {
      stat = { lookup, info: Deno.statSync(path), error: null };
    } catch (error) {
      stat = { lookup, info: null, error };
    }
    recentStats.set(path, stat);
  }
  if (stat.info === null) throw stat.error;
  return stat.info;
}

/** {@link statFor}, with null for a path that cannot be stat'ed (missing, a loop, denied). */
export function statOrNull(path: string, request?: Request): Deno.FileInfo | null {
  try {
    return statFor(path, request);
  } catch {
    return null;
  }
}

/** Opens a file positioned at `start`; closed again if the seek fails. */
export async function openAt(path: string, start: number): Promise<Deno.FsFile> {
  const file = Deno.openSync(path);
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}
