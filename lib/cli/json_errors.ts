/**
 * `--log-format json`: a handler's error goes to stderr as one JSON line, in the access log's
 * shape (`time`, then what happened), so a log pipeline reading JSON never meets a stack trace
 * spread over many lines.
 *
 * @module
 */

import { internalError } from "../engine/errors.ts";

/** An `onError` for `serve()` that logs a JSON line on stderr and answers 500. */
export function jsonOnError(error: unknown, request: Request): Response {
  console.error(JSON.stringify({
    time: new Date().toISOString(),
    level: "error",
    message: "handler error",
    method: request.method,
    url: request.url,
    error: error instanceof Error
      ? (error.stack ?? `${error.name}: ${error.message}`)
      : String(error),
  }));
  return internalError();
}
