/**
 * Our server, for the benchmark: `deno run servers/ours.ts PORT [FS_ROOT]`.
 *
 * Without FS_ROOT it answers every request with "Hello, World!"; with it, it serves that
 * directory with `serveDir` (imported only then, so the hello process never loads it).
 *
 * @module
 */

import { serve } from "../../lib/mod.ts";
import { exitOnSignals, parseServerArgs } from "./args.ts";

const { port, extra: fsRoot } = parseServerArgs(Deno.args);
exitOnSignals();
const options = { hostname: "127.0.0.1", port, onListen() {} };

if (fsRoot === undefined) {
  serve(options, () => new Response("Hello, World!"));
} else {
  const { serveDir } = await import("../../lib/static/mod.ts");
  serve(options, (request) => serveDir(request, { fsRoot }));
}
