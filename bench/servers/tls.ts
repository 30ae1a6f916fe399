/**
 * The HTTPS servers of the HTTP/2 benchmark (bench/h2.ts), with one certificate:
 * `deno run servers/tls.ts PORT ours|deno_serve DIR [files]`.
 *
 * DIR holds `cert.pem` and `key.pem`, and the files served with `files`. Without `files` the
 * server answers "Hello, World!"; with it, ours serves DIR with `serveDir`, and `Deno.serve`
 * streams the named file as servers/deno_serve.ts does. Both offer ALPN h2 and http/1.1.
 *
 * @module
 */

import { exitOnSignals } from "./args.ts";

const [portArg, kind, dir, mode] = Deno.args;
const port = Number(portArg);
if (!Number.isInteger(port) || (kind !== "ours" && kind !== "deno_serve") || !dir) {
  console.error("usage: deno run servers/tls.ts PORT ours|deno_serve DIR [files]");
  Deno.exit(2);
}
exitOnSignals();
const cert = Deno.readTextFileSync(`${dir}/cert.pem`);
const key = Deno.readTextFileSync(`${dir}/key.pem`);
const options = { hostname: "127.0.0.1", port, cert, key, onListen() {} };
const files = mode === "files";

if (kind === "ours") {
  const { serve } = await import("../../lib/mod.ts");
  if (!files) serve(options, () => new Response("Hello, World!"));
  else {
    const { serveDir } = await import("../../lib/static/mod.ts");
    serve(options, (request) => serveDir(request, { fsRoot: dir }));
  }
} else if (!files) {
  Deno.serve(options, () => new Response("Hello, World!"));
} else {
  Deno.serve(options, async (request) => {
    const name = decodeURIComponent(new URL(request.url).pathname.slice(1));
    if (name === "" || name.includes("/") || name.startsWith(".")) {
      return new Response("Not Found", { status: 404 });
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(`${dir}/${name}`);
    } catch {
      return new Response("Not Found", { status: 404 });
    }
    const { size } = await file.stat();
    return new Response(file.readable, {
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    });
  });
}
