/**
 * Types shared by the engine, the handlers and the static file server: the handler contract and
 * what the access log is told.
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
  /**
   * The protocol the request came over: "HTTP/1.1" (HTTP/1.0 included) or "HTTP/2". Not in
   * `Deno.ServeHandlerInfo`; our servers always set it.
   */
  readonly protocol?: "HTTP/1.1" | "HTTP/2";
}

/**
 * A request handler: the same contract as `Deno.serve`, so handlers and fetch-style frameworks
 * run unchanged.
 */
export type Handler = (
  request: Request,
  info: ServeHandlerInfo,
) => Response | Promise<Response>;

/** What the access log is told about each exchange. */
export interface ExchangeRecord {
  /**
   * The request as the handler saw it; null for requests answered without one (CONNECT, and
   * requests refused with an error status).
   */
  request: Request | null;
  /** The method, as sent; empty for a request refused before its head could be parsed. */
  method: string;
  /** The request target, as sent; empty when the method is. */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and 1 for HTTP/2). */
  minorVersion: 0 | 1;
  /** "HTTP/2" for a request that came over HTTP/2; HTTP/1.x when absent. */
  protocol?: "HTTP/1.1" | "HTTP/2";
  /** The response status. */
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** The peer's address (a proxy's, behind one). */
  remoteAddr: Deno.NetAddr;
  /** Milliseconds from the head being parsed to the response being queued or sent. */
  duration: number;
}
