/**
 * `-H` and `--cors` for `--app`: what they do for a served directory, done to the app's
 * responses. The app's own fields win over `--cors`'s, `-H`'s over the app's (as with files).
 *
 * @module
 */

import type { Handler } from "../shared/types.ts";
import { isToken, trimOws } from "../h1/grammar.ts";

/** The flags that apply to an app's responses. */
export interface AppFlags {
  headers: [string, string][];
  cors: boolean;
}

/** `handler` with `-H` and `--cors` applied; `handler` itself when neither was given. */
export function withAppFlags(handler: Handler, flags: AppFlags): Handler {
  if (flags.headers.length === 0 && !flags.cors) return handler;
  return async (request, info) => {
    if (flags.cors && isPreflight(request)) return decorate(preflight(request), flags);
    return decorate(await handler(request, info), flags);
  };
}

/** A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method`. */
function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("origin") &&
    request.headers.has("access-control-request-method");
}

/** The answer to a preflight: the method and the headers asked for are allowed, for a day. */
function preflight(request: Request): Response {
  const method = trimOws(request.headers.get("access-control-request-method")!);
  const asked = (request.headers.get("access-control-request-headers") ?? "").split(",")
    .map(trimOws).filter(isToken);
  const headers: Record<string, string> = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": isToken(method) ? method : "GET, HEAD, POST",
    "access-control-max-age": "86400",
    vary: "Access-Control-Request-Method, Access-Control-Request-Headers",
  };
  if (asked.length > 0) headers["access-control-allow-headers"] = asked.join(", ");
  return new Response(null, { status: 204, statusText: "No Content", headers });
}

function decorate(response: Response, flags: AppFlags): Response {
  // A protocol switch (WebSocket) is the connection's, not a response to decorate.
  if (response.status < 200) return response;
  try {
    apply(response.headers, flags);
    return response;
  } catch {
    // Immutable fields (Response.redirect, a fetch() response passed on): a copy can change.
    const copy = new Response(response.body, response);
    apply(copy.headers, flags);
    return copy;
  }
}

function apply(headers: Headers, flags: AppFlags): void {
  if (flags.cors && !headers.has("access-control-allow-origin")) {
    headers.set("access-control-allow-origin", "*");
  }
  for (const [name, value] of flags.headers) headers.set(name, value);
}
