/**
 * What can go wrong with a request, and the bounds every part of it is held to. A refused request
 * is an {@link HttpError} carrying the status code the peer gets (hyper's `on_error`, h11's
 * `error_status_hint`), so the engine answers every wire error in one place.
 *
 * @module
 */

/** The status codes a malformed or unacceptable request maps to. */
export type ErrorStatus = 400 | 413 | 414 | 417 | 431 | 501 | 505;

/** A request the server cannot accept, with the status code it answers with (hyper's `on_error`). */
export class HttpError extends Error {
  /** The status code the peer gets. */
  readonly status: ErrorStatus;
  /** The request line, when the error was found after it was parsed (for access logs). */
  requestLine?: { method: string; target: string; minorVersion: 0 | 1 };

  /**
   * An error that answers the request with `status`.
   * @param status the status code the peer gets
   * @param message what was wrong, sent in the response body (never echoes the input)
   */
  constructor(status: ErrorStatus, message: string) {
    super(message);
    this.name = "HttpError";
    this.status = status;
  }
}

/** Bounds on every part of a request. Each has a safe default in {@link DEFAULT_LIMITS}. */
export interface Limits {
  /** Request line plus header fields, and any empty lines before them, in bytes (431 past it). */
  maxHeadBytes: number;
  /** Request target, in bytes (414 past it). */
  maxTargetBytes: number;
  /** Number of header fields (431 past it). */
  maxHeaders: number;
  /** Body size, in bytes, whatever the framing (413 past it). */
  maxBodyBytes: number;
  /** A chunk-size line with its extensions, in bytes (400 past it). */
  maxChunkLineBytes: number;
  /** All trailer fields of a chunked body, in bytes (431 past it). */
  maxTrailerBytes: number;
}

/** Defaults in the range nginx, Caddy and hyper use. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxHeadBytes: 16 * 1024,
  maxTargetBytes: 8 * 1024,
  maxHeaders: 100,
  maxBodyBytes: 100 * 1024 * 1024,
  maxChunkLineBytes: 4 * 1024,
  maxTrailerBytes: 16 * 1024,
};
