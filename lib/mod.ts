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

export {
  DEFAULT_TIMEOUTS,
  serve,
  type ServeInit,
  type ServeOptions,
  type Server,
} from "./engine/server.ts";
export type { ExchangeRecord, Handler, ServeHandlerInfo } from "./shared/types.ts";
export type { Timeouts } from "./engine/connection.ts";
export {
  upgradeWebSocket,
  type UpgradeWebSocketOptions,
  type WebSocketUpgrade,
} from "./engine/ws_upgrade.ts";
export { DEFAULT_LIMITS, type ErrorStatus, HttpError, type Limits } from "./h1/errors.ts";
export {
  type MountOptions,
  type RouteContext,
  type RouteHandler,
  Router,
  type RouterOptions,
} from "./handlers/router.ts";
export { loadApp } from "./handlers/app.ts";
export {
  parseRange,
  serveDir,
  type ServeDirOptions,
  serveFile,
  type ServeFileOptions,
} from "./static/mod.ts";
export { contentType, isCompressible } from "./static/mod.ts";
export { receiveUpload, type UploadOptions } from "./static/mod.ts";
export { basicAuth, type BasicAuthOptions } from "./handlers/auth.ts";
export {
  LIVE_RELOAD_PATH,
  LiveReload,
  type LiveReloadOptions,
  withLiveReload,
} from "./handlers/live_reload.ts";
export {
  type RateDecision,
  rateLimit,
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitOptions,
} from "./handlers/ratelimit.ts";
export { clientAddress, TrustedProxies } from "./handlers/clientip.ts";
export {
  type AccessLoggerOptions,
  createAccessLogger,
  escapeField,
  flushLog,
  formatEntry,
  type LogFormat,
} from "./handlers/log.ts";
