/**
 * Types shared by the engine, the router and the static file server.
 * @module
 */

/** What a handler learns about the connection a request arrived on (as `Deno.ServeHandlerInfo`). */
export interface ServeHandlerInfo {
  /** The peer's address. */
  remoteAddr: Deno.NetAddr;
}

/**
 * A request handler: the same contract as `Deno.serve`, so handlers and fetch-style frameworks
 * run unchanged.
 */
export type Handler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;
