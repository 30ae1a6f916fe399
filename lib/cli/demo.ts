/**
 * The demo site from the tutorial this project grew out of ("Building a Simple HTTP Server in
 * Python"): a Hello page linking to `/about`, the about page, and an HTML 404 for anything else,
 * built with the {@link Router}. The server serves it when given neither a directory nor an app.
 *
 * @example
 * ```ts
 * import { demoSite } from "./demo.ts";
 * import { serve } from "../mod.ts";
 * serve({ port: 8080 }, demoSite().fetch);
 * ```
 *
 * @module
 */

import { Router } from "../handlers/router.ts";
export type { Router };

const HTML = { "content-type": "text/html; charset=utf-8" };

/** One tutorial-style page: a title, a heading and a paragraph of (trusted) HTML. */
function page(title: string, heading: string, paragraph: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body>
    <h1>${heading}</h1>
    <p>${paragraph}</p>
</body>
</html>
`;
}

const HOME = page(
  "My Server",
  "Hello from my Deno server!",
  `Try visiting <a href="/about">/about</a>`,
);

const ABOUT = page(
  "About",
  "About This Server",
  `Built on Deno's raw TCP sockets (<code>Deno.listen</code>) with our own HTTP/1.1 parser,
    not <code>Deno.serve</code>. Back to <a href="/">the start page</a>.`,
);

const NOT_FOUND = page(
  "404",
  "404 - Page Not Found",
  `The page you're looking for doesn't exist. Try <a href="/">the start page</a>.`,
);

/**
 * Builds the demo site: `/` (Hello), `/about`, and a 404 page for every other path. HEAD and
 * OPTIONS work as for any {@link Router}; other methods on the two pages get 405.
 *
 * @example
 * ```ts
 * import { demoSite } from "./demo.ts";
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
 *   completed: Promise.resolve(),
 * };
 * const response = await demoSite().fetch(new Request("http://localhost/about"), info);
 * console.log(response.status, await response.text());
 * ```
 */
export function demoSite(): Router {
  return new Router({
    notFound: () => new Response(NOT_FOUND, { status: 404, headers: HTML }),
  })
    .get("/", () => new Response(HOME, { headers: HTML }))
    .get("/about", () => new Response(ABOUT, { headers: HTML }));
}
