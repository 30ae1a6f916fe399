/**
 * The HTTPS servers of the HTTP/2 benchmark (bench/h2.ts), with one certificate:
 * `deno run servers/tls.ts PORT ours|deno_serve|raw_deno|raw_node DIR [files]`.
 *
 * DIR holds `cert.pem` and `key.pem`, and the files served with `files`. Without `files` the
 * server answers "Hello, World!"; with it, ours serves DIR with `serveDir`, and `Deno.serve`
 * streams the named file as servers/deno_serve.ts does. Both offer ALPN h2 and http/1.1.
 *
 * Two raw loops (servers/raw_loop.ts, hello only) show what TLS costs below any HTTP code:
 * `raw_deno` over `Deno.listenTls`, `raw_node` over the `node:tls` listener our server uses
 * (lib/engine/tls_listener.ts, which frees stalled handshakes).
 *
 * @module
 */

import { exitOnSignals } from "./args.ts";

const [portArg, kind, dir, mode] = Deno.args;
const port = Number(portArg);
const KINDS = ["ours", "deno_serve", "raw_deno", "raw_node"];
if (!Number.isInteger(port) || !KINDS.includes(kind) || !dir) {
  console.error(`usage: deno run servers/tls.ts PORT ${KINDS.join("|")} DIR [files]`);
  Deno.exit(2);
}
exitOnSignals();
const cert = Deno.readTextFileSync(`${dir}/cert.pem`);
const key = Deno.readTextFileSync(`${dir}/key.pem`);
const options = { hostname: "127.0.0.1", port, cert, key, onListen() {} };
const files = mode === "files";

if (kind === "raw_deno" || kind === "raw_node") {
  const { serveRaw } = await import("./raw_loop.ts");
  const { listenTls } = await import("../../lib/engine/tls_listener.ts");
  const listener = kind === "raw_deno"
    ? Deno.listenTls({ ...options, alpnProtocols: ["http/1.1"] })
    : listenTls({ ...options, alpnProtocols: ["http/1.1"], handshakeTimeout: 10_000 });
  for await (const conn of listener) {
    // Deno.TlsConn has no setNoDelay (see bench/README.md's HTTP/2 section).
    (conn as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    serveRaw(conn, false);
  }
} else if (kind === "ours") {
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
