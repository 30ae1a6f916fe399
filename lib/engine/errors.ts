/**
 * How the engine tells the errors that end a connection apart: the peer went away (silent), a
 * body failed before anything was sent (an honest 500), or a bug (reported).
 *
 * @module
 */

/** The peer closed its side in the middle of a message. */
export class PeerClosed extends Error {
  constructor(what: string) {
    super(`connection closed ${what}`);
    this.name = "PeerClosed";
  }
}

/** A response body failed before any of the response was sent. */
export class UnsentBody extends Error {
  constructor(cause: unknown) {
    super("the response body failed before it was sent", { cause });
    this.name = "UnsentBody";
  }
}

/** Errors that only mean the peer went away or the connection was closed under us. */
export function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.Interrupted ||
    // A TLS handshake the client failed (plain HTTP on the HTTPS port, an untrusted cert).
    error instanceof Deno.errors.InvalidData ||
    error instanceof PeerClosed;
}

/** The answer to a handler that failed: the same plain 500 wherever it is given. */
export function internalError(): Response {
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
