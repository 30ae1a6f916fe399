/**
 * Status text for static responses: `new Response(body, { status })` leaves `statusText` empty,
 * while a response from `fetch` (and a handler's usual expectation) has the reason phrase. Every
 * response serveDir and serveFile make carries it ("OK", "Not Found", "Partial Content" …).
 *
 * @module
 */

import { STATUS_TEXT } from "../h1/response_head.ts";

/**
 * A `ResponseInit` with `status`, its reason phrase as `statusText`, and `headers`.
 *
 * @example
 * ```ts
 * import { init } from "./status.ts";
 * new Response(null, init(404)).statusText; // "Not Found"
 * ```
 */
export function init(status: number, headers?: HeadersInit): ResponseInit {
  return { status, statusText: STATUS_TEXT[status] ?? "", headers };
}

/**
 * `response` itself when it has a status text (or its status has no known phrase), else the same
 * response with the phrase: same status, fields and body (a stream body is handed over, not
 * read). For responses made elsewhere in lib/static without {@link init}.
 */
export function withStatusText(response: Response): Response {
  const statusText = STATUS_TEXT[response.status];
  if (response.statusText !== "" || statusText === undefined) return response;
  return new Response(response.body, {
    status: response.status,
    statusText,
    headers: response.headers,
  });
}
