/**
 * Static files and an API side by side: `serveDir` answers every path, except that `/api/…`
 * goes to the API routes. The mount at `/` ranks like the pattern `/*`, so the more specific
 * `/api` mount wins whatever the registration order.
 *
 *     deno run --allow-net --allow-read examples/static_and_api.ts [--port 8000] [--root DIR]
 *
 *     curl localhost:8000/                # examples/public/index.html
 *     curl localhost:8000/api/time
 *     curl localhost:8000/api/echo -d hi
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";
import { Router } from "../lib/handlers/router.ts";
import { serveDir } from "../lib/static/mod.ts";

/** The directory served when no `--root` is given: `examples/public`. */
export const PUBLIC_DIR: string = fileURLToPath(new URL("./public", import.meta.url));

/**
 * The API, mounted at `/api`: its patterns are relative to the mount point.
 *
 * @example
 * ```ts
 * import { createApi } from "./static_and_api.ts";
 * const api = createApi(); // GET /time, GET /hello/:name, POST /echo
 * ```
 */
export function createApi(): Router {
  return new Router({
    notFound: () => Response.json({ error: "no such endpoint" }, { status: 404 }),
  })
    .get("/time", () => Response.json({ time: new Date().toISOString() }))
    .get("/hello/:name", (_request, { params }) => Response.json({ hello: params.name }))
    .post("/echo", async (request) =>
      new Response(await request.text(), {
        headers: { "content-type": request.headers.get("content-type") ?? "text/plain" },
      }));
}

/**
 * Builds the site: files from `fsRoot`, and the API under `/api`.
 *
 * @example
 * ```ts
 * import { createApp, PUBLIC_DIR } from "./static_and_api.ts";
 * import { serve } from "../lib/mod.ts";
 * serve({ port: 8000 }, createApp(PUBLIC_DIR).fetch);
 * ```
 */
export function createApp(fsRoot: string): Router {
  return new Router()
    .mount("/", (request) => serveDir(request, { fsRoot }))
    .mount("/api", createApi());
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "8000" },
      root: { type: "string", default: PUBLIC_DIR },
    },
  });
  serve({ port: Number(values.port) }, createApp(values.root).fetch);
}
