/**
 * An HTTP/1.1 server for Deno, written in TypeScript on raw TCP (`Deno.listen`), with the same
 * handler contract as `Deno.serve`.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * serve({ port: 8080 }, () => new Response("Hello, World!"));
 * ```
 *
 * @module
 */

export { DEFAULT_TIMEOUTS, serve, type ServeOptions, type Server } from "./server.ts";
export type { Handler, ServeHandlerInfo } from "./types.ts";
export type { ExchangeRecord, Timeouts } from "./connection.ts";
export { DEFAULT_LIMITS, type ErrorStatus, HttpError, type Limits } from "./http.ts";
export {
  type MountOptions,
  type RouteContext,
  type RouteHandler,
  Router,
  type RouterOptions,
} from "./router.ts";
export { loadApp } from "./app.ts";
export {
  parseRange,
  serveDir,
  type ServeDirOptions,
  serveFile,
  type ServeFileOptions,
} from "./static.ts";
export { contentType, isCompressible } from "./mime.ts";
export {
  type RateDecision,
  rateLimit,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitOptions,
} from "./ratelimit.ts";
export { clientAddress, TrustedProxies } from "./clientip.ts";
export {
  type AccessLoggerOptions,
  createAccessLogger,
  escapeField,
  flushLog,
  formatEntry,
  type LogFormat,
} from "./log.ts";
