/**
 * A router for {@link Handler}s: routes by method and `URLPattern` path pattern, with a
 * precedence that does not depend on the order routes are registered in.
 *
 * ## Precedence
 *
 * Every pattern is split into `/`-separated segments, and each segment gets a kind. From most to
 * least specific:
 *
 * 1. static: `users`
 * 2. mixed, literal text with a parameter: `:name.json`, `v:major`
 * 3. constrained parameter: `:id(\\d+)`, `(json|xml)`
 * 4. parameter: `:id`
 * 5. end of the pattern
 * 6. optional: `:id?`, `{/:id}?`
 * 7. wildcard: `*`, `:path*`, `:path+`, `*.png`, `(.*)`
 *
 * Two patterns are compared segment by segment, left to right; the first segment whose kinds
 * differ decides, and the more specific kind wins. A shorter pattern is compared as if it had
 * "end" segments after its last one, so more required segments beat fewer (`/a/:b` over `/a/*`)
 * while the exact path beats an optional or wildcard tail (`/users` over `/users/:id?` for
 * `/users`). Patterns whose kinds tie everywhere go by registration order, first wins. A static
 * pattern therefore always beats any other pattern that matches the same path, which is why
 * static routes are looked up in a `Map` before any `URLPattern` runs.
 *
 * The method is chosen before the path: among the routes for the request's method (plus those
 * registered with `all` or `mount`) the most specific match wins. HEAD also runs GET routes; an
 * explicit HEAD route beats a GET route of the same specificity.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * import { serve } from "../mod.ts";
 *
 * const router = new Router()
 *   .get("/", () => new Response("home"))
 *   .get("/users/:id", (_req, { params }) => Response.json({ id: params.id }));
 * serve({ port: 8080 }, router.fetch);
 * ```
 *
 * @module
 */

import type { Handler, ServeHandlerInfo } from "../shared/types.ts";
import { isToken } from "../h1/grammar.ts";
export type { Handler, ServeHandlerInfo };

/** What a route handler gets besides the request. */
export interface RouteContext {
  /**
   * The pattern's named groups, percent-decoded. Unnamed groups such as `*` are numbered from
   * `"0"`; optional groups that matched nothing are absent.
   */
  params: Record<string, string>;
  /** The connection's details, as the engine (or `Deno.serve`) passed them. */
  info: ServeHandlerInfo;
}

/**
 * A route's handler: a {@link Handler} that also receives the matched params.
 *
 * @example
 * ```ts
 * import type { RouteHandler } from "./router.ts";
 * const hello: RouteHandler = (_request, { params }) => new Response(`Hello, ${params.name}`);
 * ```
 */
export type RouteHandler = (
  request: Request,
  context: RouteContext,
) => Response | Promise<Response>;

/**
 * Options for {@link Router}.
 *
 * @example
 * ```ts
 * import { Router, type RouterOptions } from "./router.ts";
 * const options: RouterOptions = {
 *   notFound: () => new Response("nothing here", { status: 404 }),
 *   onError: () => new Response("sorry", { status: 500 }),
 * };
 * const router = new Router(options);
 * ```
 */
export interface RouterOptions {
  /**
   * Answers requests whose path no route matches.
   * @default a plain-text "Not Found" with status 404
   */
  notFound?: RouteHandler;
  /**
   * Turns an error thrown (or a promise rejected) by a route into a response. Without it the
   * error propagates to the caller; the engine answers 500.
   */
  onError?: (
    error: unknown,
    request: Request,
    context: RouteContext,
  ) => Response | Promise<Response>;
}

/**
 * Options for {@link Router.mount}.
 *
 * @example
 * ```ts
 * import { Router, type MountOptions } from "./router.ts";
 * const options: MountOptions = { stripPrefix: true };
 * new Router().mount("/legacy", (req) => new Response(new URL(req.url).pathname), options);
 * ```
 */
export interface MountOptions {
  /**
   * Hand a mounted handler a copy of the request whose URL lacks the prefix. Mounted routers
   * never need it: they match the rest of the path without touching the request.
   * @default {false}
   */
  stripPrefix?: boolean;
}

/** Segment kinds, most specific first; see the module documentation. */
const enum Kind {
  Static,
  Mixed,
  Constrained,
  Param,
  End,
  Optional,
  Wildcard,
}

/** A registered route; mounts are routes too. */
interface Route {
  /** Registration order, the last tie-breaker. */
  readonly seq: number;
  /** Upper-case method names, or null for every method. */
  readonly methods: ReadonlySet<string> | null;
  readonly kinds: readonly Kind[];
  /** The canonical pathname when the pattern has no special syntax at all. */
  readonly exact: string | null;
  /** Params if the route's path matches `pathname`, else null. */
  readonly match: (pathname: string) => Record<string, string> | null;
  /** Runs the route; `pathname` is the path this router matched on. */
  readonly run: (
    request: Request,
    context: RouteContext,
    pathname: string,
  ) => Response | Promise<Response>;
}

/** The routes one method can reach, in precedence order. */
interface Table {
  readonly exact: Map<string, Route>;
  readonly patterns: readonly Route[];
}

/** Characters that make a pattern more than a literal path. */
const SYNTAX = /[:*(){}?+\\]/;
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * Routes requests by method and path pattern. Itself a handler: pass {@link Router.fetch} to
 * `serve`, or export the router as a module's default export (`deno serve` and `--app` call its
 * `fetch`).
 *
 * Paths are matched exactly as the URL has them (case-sensitive, `/about` ≠ `/about/`).
 * Unmatched paths get the `notFound` answer; a matched path with no route for the method gets
 * 405 with a sorted `Allow` header; OPTIONS without an explicit route gets 204 with `Allow`;
 * HEAD runs the GET route and drops the body, keeping the headers.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 *
 * const api = new Router().get("/users/:id", (_req, { params }) => Response.json(params));
 * const router = new Router()
 *   .get("/", () => new Response("home"))
 *   .mount("/api", api);
 *
 * const info = {
 *   remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
 *   completed: Promise.resolve(),
 * };
 * const response = await router.fetch(new Request("http://localhost/api/users/7"), info);
 * console.log(await response.json()); // { id: "7" }
 * ```
 */
export class Router {
  readonly #routes: Route[] = [];
  /** Methods some route names explicitly; others share the table of `all` routes. */
  readonly #methods = new Set<string>();
  readonly #tables = new Map<string, Table>();
  readonly #notFound: RouteHandler;
  readonly #onError: RouterOptions["onError"];

  /**
   * Creates an empty router.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * const router = new Router({ notFound: () => new Response("no such page", { status: 404 }) });
   * ```
   */
  constructor(options: RouterOptions = {}) {
    this.#notFound = options.notFound ?? defaultNotFound;
    this.#onError = options.onError;
  }

  /**
   * Adds a route for one or more methods (upper-cased).
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().on(["GET", "POST"], "/echo", (req) => new Response(req.body));
   * ```
   */
  on(method: string | readonly string[], pattern: string, handler: RouteHandler): this {
    const methods = (typeof method === "string" ? [method] : method).map(checkMethod);
    return this.#add(new Set(methods), pattern, handler);
  }

  /**
   * Adds a GET route; it answers HEAD too.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().get("/users/:id", (_req, { params }) => Response.json({ id: params.id }));
   * ```
   */
  get(pattern: string, handler: RouteHandler): this {
    return this.on("GET", pattern, handler);
  }

  /**
   * Adds a HEAD route, which beats the GET route of the same pattern for HEAD requests.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().head("/big", () => new Response(null, { headers: { "content-length": "1000000" } }));
   * ```
   */
  head(pattern: string, handler: RouteHandler): this {
    return this.on("HEAD", pattern, handler);
  }

  /**
   * Adds a POST route.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().post("/items", async (req) => Response.json(await req.json(), { status: 201 }));
   * ```
   */
  post(pattern: string, handler: RouteHandler): this {
    return this.on("POST", pattern, handler);
  }

  /**
   * Adds a PUT route.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().put("/items/:id", (_req, { params }) => new Response(`replaced ${params.id}`));
   * ```
   */
  put(pattern: string, handler: RouteHandler): this {
    return this.on("PUT", pattern, handler);
  }

  /**
   * Adds a PATCH route.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().patch("/items/:id", (_req, { params }) => new Response(`updated ${params.id}`));
   * ```
   */
  patch(pattern: string, handler: RouteHandler): this {
    return this.on("PATCH", pattern, handler);
  }

  /**
   * Adds a DELETE route.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().delete("/items/:id", () => new Response(null, { status: 204 }));
   * ```
   */
  delete(pattern: string, handler: RouteHandler): this {
    return this.on("DELETE", pattern, handler);
  }

  /**
   * Adds an OPTIONS route, replacing the automatic 204 answer for its paths.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().options("/api/*", () =>
   *   new Response(null, { status: 204, headers: { "access-control-allow-origin": "*" } }));
   * ```
   */
  options(pattern: string, handler: RouteHandler): this {
    return this.on("OPTIONS", pattern, handler);
  }

  /**
   * Adds a route for every method.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * new Router().all("/echo", (req) => new Response(req.method));
   * ```
   */
  all(pattern: string, handler: RouteHandler): this {
    return this.#add(null, pattern, handler);
  }

  /**
   * Hands every request under `prefix` (the path itself and anything below it, for every method)
   * to another router or handler. The prefix is a literal path such as `/api`; it ranks like the
   * pattern `/api/*`, so more specific routes of this router still win.
   *
   * A mounted {@link Router} matches its routes against the rest of the path (`/api/users/1` is
   * `/users/1` to it) but its handlers see the request unchanged, and its 404 and 405 answers
   * stand. A mounted handler, or an object with a `fetch` method (a Hono app), gets the request
   * unchanged, prefix kept (as `serveDir`'s `urlRoot` expects), unless `stripPrefix` is set.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * import { serveDir } from "../static/mod.ts";
   *
   * const api = new Router().get("/health", () => new Response("ok"));
   * new Router()
   *   .mount("/api", api)
   *   .mount("/static", (req) => serveDir(req, { fsRoot: "public", urlRoot: "static" }));
   * ```
   */
  mount(
    prefix: string,
    target: Router | Handler | { fetch: Handler },
    options: MountOptions = {},
  ): this {
    if (!prefix.startsWith("/") || SYNTAX.test(prefix)) {
      throw new TypeError(`mount prefix must be a literal path starting with "/": ${prefix}`);
    }
    const base = prefix.replace(/\/+$/, ""); // "/" mounts at the root: base ""
    const rest = (pathname: string) => pathname.slice(base.length) || "/";
    const match = (pathname: string) =>
      pathname === base || pathname.startsWith(base + "/") ? NO_PARAMS : null;

    let run: Route["run"];
    if (target instanceof Router) {
      run = (request, { info }, pathname) => target.#dispatch(request, info, rest(pathname));
    } else {
      const handler: Handler = typeof target === "function"
        ? target
        : (request, info) => target.fetch(request, info);
      run = options.stripPrefix
        ? (request, { info }, pathname) => handler(withPath(request, rest(pathname)), info)
        : (request, { info }) => handler(request, info);
    }
    const kinds = base === "" ? [Kind.Wildcard] : [...segmentKinds(base), Kind.Wildcard];
    return this.#insert({
      seq: this.#routes.length,
      methods: null,
      kinds,
      exact: null,
      match,
      run,
    });
  }

  /**
   * The router as a {@link Handler}, bound: `serve(options, router.fetch)` works, and so does
   * `export default router` for `deno serve` or `--app`.
   *
   * @example
   * ```ts
   * import { Router } from "./router.ts";
   * import { serve } from "../mod.ts";
   * const router = new Router().get("/", () => new Response("hi"));
   * serve({ port: 8080 }, router.fetch);
   * ```
   */
  readonly fetch: Handler = (request, info) =>
    this.#dispatch(request, info, pathnameOf(request.url));

  #add(methods: Set<string> | null, pattern: string, handler: RouteHandler): this {
    if (typeof handler !== "function") throw new TypeError(`no handler given for ${pattern}`);
    if (!pattern.startsWith("/")) {
      throw new TypeError(`route pattern must start with "/": ${pattern}`);
    }
    const compiled = new URLPattern({ pathname: pattern });
    const canonical = compiled.pathname;
    const exact = SYNTAX.test(pattern) ? null : canonical;
    const match = exact !== null
      ? (pathname: string) => pathname === exact ? NO_PARAMS : null
      : compileSimple(canonical) ?? matchWithUrlPattern(compiled);
    const run: Route["run"] = (request, context) => handler(request, context);
    const kinds = segmentKinds(canonical);
    return this.#insert({ seq: this.#routes.length, methods, kinds, exact, match, run });
  }

  #insert(route: Route): this {
    // Sorted once here, so dispatch only walks lists in order.
    const at = this.#routes.findIndex((other) => compareRoutes(route, other) < 0);
    this.#routes.splice(at === -1 ? this.#routes.length : at, 0, route);
    for (const method of route.methods ?? []) this.#methods.add(method);
    this.#tables.clear();
    return this;
  }

  #dispatch(
    request: Request,
    info: ServeHandlerInfo,
    pathname: string,
  ): Response | Promise<Response> {
    const method = request.method;
    const found = this.#find(method, pathname);
    if (found === null) return this.#unrouted(request, info, pathname);

    const [route, params] = found;
    const context: RouteContext = { params, info };
    if (method === "HEAD") return withoutBody(this.#run(route, request, context, pathname));
    return this.#run(route, request, context, pathname);
  }

  #run(route: Route, request: Request, context: RouteContext, pathname: string) {
    const onError = this.#onError;
    if (onError === undefined) return route.run(request, context, pathname);
    try {
      const result = route.run(request, context, pathname);
      return result instanceof Promise ? result.catch((e) => onError(e, request, context)) : result;
    } catch (error) {
      return onError(error, request, context);
    }
  }

  /** The most specific route for this method and path, with its params. */
  #find(method: string, pathname: string): [Route, Record<string, string>] | null {
    const table = this.#table(method);
    const exact = table.exact.get(pathname);
    if (exact !== undefined) return [exact, NO_PARAMS];
    for (const route of table.patterns) {
      const params = route.match(pathname);
      if (params !== null) return [route, params];
    }
    return null;
  }

  #table(method: string): Table {
    const known = this.#methods.has(method) || (method === "HEAD" && this.#methods.has("GET"));
    const key = known ? method : "";
    let table = this.#tables.get(key);
    if (table === undefined) {
      table = buildTable(this.#routes, key);
      this.#tables.set(key, table);
    }
    return table;
  }

  /**
   * No route for this method: 204 for OPTIONS, 405, or not found. Both answers carry `Allow`: a
   * 405 MUST (RFC 9110 §15.5.6), and it is what OPTIONS asks about (RFC 9110 §9.3.7).
   */
  #unrouted(request: Request, info: ServeHandlerInfo, pathname: string) {
    const allowed = new Set<string>();
    for (const route of this.#routes) {
      if (route.match(pathname) === null) continue;
      for (const method of route.methods ?? []) allowed.add(method);
    }
    if (allowed.size === 0) return this.#notFound(request, { params: NO_PARAMS, info });

    if (allowed.has("GET")) allowed.add("HEAD");
    allowed.add("OPTIONS");
    const allow = [...allowed].sort().join(", ");
    if (request.method === "OPTIONS") {
      return new Response(null, { status: 204, headers: { allow } });
    }
    return new Response("Method Not Allowed\n", {
      status: 405,
      headers: { allow, "content-type": "text/plain; charset=utf-8" },
    });
  }
}

/** The routes `method` reaches ("" for a method no route names), in precedence order. */
function buildTable(routes: readonly Route[], method: string): Table {
  const reaches = (r: Route) =>
    r.methods === null || r.methods.has(method) || (method === "HEAD" && r.methods.has("GET"));
  const list = routes.filter(reaches);
  if (method === "HEAD") {
    // Equal specificity: an explicit HEAD route before a GET (or all) route.
    const explicit = (r: Route) => r.methods?.has("HEAD") ? 0 : 1;
    list.sort((a, b) =>
      compareKinds(a.kinds, b.kinds) || explicit(a) - explicit(b) || a.seq - b.seq
    );
  }
  const exact = new Map<string, Route>();
  const patterns: Route[] = [];
  for (const route of list) {
    if (route.exact === null) patterns.push(route);
    else if (!exact.has(route.exact)) exact.set(route.exact, route);
  }
  return { exact, patterns };
}

function compareRoutes(a: Route, b: Route): number {
  return compareKinds(a.kinds, b.kinds) || a.seq - b.seq;
}

function compareKinds(a: readonly Kind[], b: readonly Kind[]): number {
  for (let i = 0; i < a.length || i < b.length; i++) {
    const diff = (a[i] ?? Kind.End) - (b[i] ?? Kind.End);
    if (diff !== 0) return diff;
  }
  return 0;
}

const NAME_CHAR = /[\p{ID_Continue}$]/u;

/**
 * The kind of each segment of a URLPattern pathname pattern. A group that starts with `/`
 * (`{/:id}?`) starts a segment of its own.
 */
function segmentKinds(pattern: string): Kind[] {
  const kinds: Kind[] = [];
  let seg = emptySegment();
  const close = () => {
    kinds.push(kindOf(seg));
    seg = emptySegment();
  };
  /** Applies a `?`, `*` or `+` modifier at `i`, if any; returns the index after it. */
  const modifier = (i: number) => {
    const c = pattern[i];
    if (c === "?") seg.optional = true;
    else if (c === "*" || c === "+") seg.wildcard = true;
    else return i;
    return i + 1;
  };

  let depth = 0;
  let i = pattern.startsWith("/") ? 1 : 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "/" && depth === 0) {
      close();
      i++;
    } else if (c === "\\") {
      seg.literal = true;
      i += 2;
    } else if (c === ":") {
      seg.param = true;
      i++;
      while (i < pattern.length && NAME_CHAR.test(pattern[i])) i++;
      if (pattern[i] === "(") i = regexp(i);
      i = modifier(i);
    } else if (c === "(") {
      i = regexp(i);
      i = modifier(i);
    } else if (c === "*") {
      seg.wildcard = true;
      i = modifier(i + 1);
    } else if (c === "{") {
      if (depth === 0 && pattern[i + 1] === "/" && i > 0 && pattern[i - 1] !== "/") close();
      depth++;
      i++;
    } else if (c === "}") {
      depth--;
      i = modifier(i + 1);
    } else {
      seg.literal = true;
      i++;
    }
  }
  close();
  return kinds;

  /** Skips the regexp group at `i`; `(.*)` is a wildcard, anything else a constrained parameter. */
  function regexp(i: number): number {
    const start = i;
    let level = 0;
    for (; i < pattern.length; i++) {
      if (pattern[i] === "\\") i++;
      else if (pattern[i] === "(") level++;
      else if (pattern[i] === ")" && --level === 0) break;
    }
    if (pattern.slice(start, i + 1) === "(.*)") seg.wildcard = true;
    else seg.param = seg.constrained = true;
    return i + 1;
  }
}

/** What a segment has seen so far. */
interface SegmentFlags {
  literal: boolean;
  param: boolean;
  constrained: boolean;
  optional: boolean;
  wildcard: boolean;
}

function emptySegment(): SegmentFlags {
  return { literal: false, param: false, constrained: false, optional: false, wildcard: false };
}

function kindOf(seg: SegmentFlags): Kind {
  if (seg.wildcard) return Kind.Wildcard;
  if (seg.optional) return Kind.Optional;
  if (!seg.param) return Kind.Static;
  if (seg.literal) return Kind.Mixed;
  return seg.constrained ? Kind.Constrained : Kind.Param;
}

/**
 * A matcher for the common case, literal text and plain `:name` params, as a RegExp: the same
 * expression URLPattern builds (`[^/]+?` per param, anchored), minus its per-call overhead.
 * Null for any other syntax.
 */
function compileSimple(pattern: string): Route["match"] | null {
  if (!SIMPLE.test(pattern)) return null;
  const names: string[] = [];
  const source = pattern.replace(PARAM_OR_LITERAL, (token) => {
    if (!token.startsWith(":")) return token.replace(/[.^$|[\]]/g, "\\$&");
    names.push(token.slice(1));
    return "([^/]+?)";
  });
  const regexp = new RegExp(`^${source}$`, "u");
  return (pathname) => {
    const found = regexp.exec(pathname);
    if (found === null) return null;
    const groups: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) groups[names[i]] = found[i + 1];
    return decodeParams(groups);
  };
}

/** Plain `:name` params and literal text only. */
const SIMPLE = /^(?:[^:*(){}?+\\]|:[\p{ID_Start}$_][\p{ID_Continue}$]*)*$/u;
const PARAM_OR_LITERAL = /:[\p{ID_Start}$_][\p{ID_Continue}$]*|[^:]+/gu;

/**
 * A matcher that runs the URLPattern, after a cheap check that the path starts with the
 * pattern's literal segments. The check stops short of the last `/` before any syntax, since
 * a param made optional takes the `/` before it along (`/books/:id?` matches `/books`).
 */
function matchWithUrlPattern(compiled: URLPattern): Route["match"] {
  const pattern = compiled.pathname;
  const prefix = pattern.slice(0, pattern.lastIndexOf("/", pattern.search(SYNTAX)));
  return (pathname) => {
    if (!pathname.startsWith(prefix)) return null;
    const result = compiled.exec({ pathname });
    return result === null ? null : decodeParams(result.pathname.groups);
  };
}

function decodeParams(groups: Record<string, string | undefined>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name in groups) {
    const value = groups[name];
    if (value === undefined) continue;
    try {
      params[name] = decodeURIComponent(value);
    } catch {
      params[name] = value; // malformed escapes: the raw text is still the best answer
    }
  }
  return params;
}

/** The pathname of a serialized http(s) URL, without parsing the whole URL. */
function pathnameOf(url: string): string {
  const scheme = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : -1;
  if (scheme === -1) return new URL(url).pathname;
  const start = url.indexOf("/", scheme);
  if (start === -1) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query !== -1) end = query;
  const hash = url.indexOf("#", start);
  if (hash !== -1 && hash < end) end = hash;
  return url.slice(start, end);
}

function withPath(request: Request, pathname: string): Request {
  const url = new URL(request.url);
  url.pathname = pathname;
  return new Request(url, request);
}

/** HEAD: the fields the GET would send, without the body (RFC 9110 §9.3.2). */
async function withoutBody(pending: Response | Promise<Response>): Promise<Response> {
  const response = await pending;
  if (response.body === null) return response;
  response.body.cancel().catch(() => {}); // not awaited: a slow source must not delay the answer
  return new Response(null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function defaultNotFound(): Response {
  return new Response("Not Found\n", {
    status: 404,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** A method is a token (RFC 9110 §9.1); upper-cased here, as routes name methods that way. */
function checkMethod(method: string): string {
  if (!isToken(method)) throw new TypeError(`not an HTTP method: ${method}`);
  return method.toUpperCase();
}
