/**
 * An app module in the shape `deno serve` runs: a default export with `fetch(request, info)`.
 * A {@link Router} is one, so the same file runs on our engine or on Deno's own server:
 *
 *     deno run --allow-net --allow-read server.ts --app examples/app.ts [--port 8000]
 *     deno serve examples/app.ts
 *
 * @module
 */

import { Router } from "../lib/handlers/router.ts";

/**
 * Greets whoever the path names and reports the caller's address.
 *
 * @example
 * ```ts
 * import app from "./app.ts";
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
 *   completed: Promise.resolve(),
 * };
 * console.log(await (await app.fetch(new Request("http://localhost/hello/Ada"), info)).text());
 * ```
 */
const app: Router = new Router()
  .get("/", () => new Response("Try /hello/your-name\n"))
  .get(
    "/hello/:name",
    (_request, { params, info }) =>
      new Response(`Hello, ${params.name}! (from ${info.remoteAddr.hostname})\n`),
  );

export default app;
