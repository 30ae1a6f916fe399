/**
 * `Deno.serve`, the baseline: `deno run servers/deno_serve.ts PORT [FS_ROOT]`.
 *
 * Without FS_ROOT it answers every request with "Hello, World!"; with it, it streams the file
 * named by the URL path from that directory, the way a hand-written Deno.serve app would:
 * `Deno.open` + `file.readable`, with Content-Length from `stat`.
 *
 * @module
 */

import { exitOnSignals, parseServerArgs } from "./args.ts";

const { port, extra: fsRoot } = parseServerArgs(Deno.args);
exitOnSignals();
const options = { hostname: "127.0.0.1", port, onListen() {} };

if (fsRoot === undefined) {
  Deno.serve(options, () => new Response("Hello, World!"));
} else {
  Deno.serve(options, (request) => streamFile(fsRoot, new URL(request.url).pathname));
}

async function streamFile(root: string, pathname: string): Promise<Response> {
  // The harness asks only for files it created at the top of `root`.
  const name = decodeURIComponent(pathname.slice(1));
  if (name === "" || name.includes("/") || name.startsWith(".")) {
    return new Response("Not Found", { status: 404 });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${root}/${name}`);
  } catch {
    return new Response("Not Found", { status: 404 });
  }
  const { size } = await file.stat();
  return new Response(file.readable, {
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
  });
}
