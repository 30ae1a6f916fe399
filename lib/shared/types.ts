/**
 * Types shared by the engine, the router and the static file server.
 * @module
 */

/** What a handler learns about its request (as `Deno.ServeHandlerInfo`). */
export interface ServeHandlerInfo {
  /** The peer's address. */
  remoteAddr: Deno.NetAddr;
  /**
   * Settles once the response (with all of its body) has been written to the connection, or
   * rejects with `Deno.errors.Interrupted` when it could not be, for example when the client
   * went away first.
   */
  completed: Promise<void>;
}

/**
 * A request handler: the same contract as `Deno.serve`, so handlers and fetch-style frameworks
 * run unchanged.
 */
export type Handler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;
