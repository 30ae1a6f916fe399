/**
 * `upgradeWebSocket(request, options)`: the same contract as `Deno.upgradeWebSocket`, for
 * requests our engine made. It returns `{ socket, response }` at once (synchronously); the
 * handler returns `response`, a {@link SwitchingProtocols}, and the engine writes its 101 head
 * and hands the connection to `socket` (lib/shared/handover.ts).
 *
 * And `Deno.upgradeWebSocket` itself, so that apps written for `Deno.serve` run unchanged:
 * {@link installDenoUpgradeWebSocket} (called when the first server starts) replaces the
 * configurable accessor on `Deno` with one whose function sends the requests our engine made to
 * ours and every other request to Deno's own. A request is ours when it carries the engine's
 * stamp (lib/shared/arrival.ts: `arrivalOf(request)`, set on every request a connection makes):
 * a request some code copied (`new Request(request)`) has none and goes to Deno's, as it would
 * under `Deno.serve`.
 *
 * Bad handshakes, two kinds:
 * - What `Deno.upgradeWebSocket` throws for (no `websocket` in Upgrade, no `upgrade` in
 *   Connection, no Sec-WebSocket-Key, a subprotocol the client did not offer), ours throws
 *   for too, the same `TypeError` with the same message: apps that catch it see no difference.
 * - What Deno lets through but RFC 6455 §4.2 refuses (a version other than 13, a malformed key,
 *   not GET, a malformed Sec-WebSocket-Extensions) gets the RFC's answer instead of a 101: the
 *   returned `response` is that refusal (426 with `Sec-WebSocket-Version: 13`, 400 or 405),
 *   and the `socket` never opens: it fires `error` and `close` (1006), as a browser's socket
 *   whose handshake failed. The app's code runs unchanged and the client learns what was wrong.
 *
 * @module
 */

import { acceptUpgradeSync, listElements } from "../ws/mod.ts";
import { arrivalOf } from "../shared/arrival.ts";
import { SwitchingProtocols } from "../shared/handover.ts";
import { REFUSED, RUN, ServerWebSocket } from "./websocket.ts";

/** Options of {@link upgradeWebSocket}: Deno's, and ours. */
export interface UpgradeWebSocketOptions {
  /** The subprotocol to answer with; it must be one the client offered (else a TypeError). */
  protocol?: string;
  /**
   * Seconds without a message or pong from the peer after which it is pinged (at half) and
   * the connection closed with 1001 (at the end) if it still says nothing. `0` turns it off.
   * @default {30}
   */
  idleTimeout?: number;
  /** Agree to permessage-deflate (RFC 7692) when the client offers it. @default {true} */
  compression?: boolean;
  /** Largest message received, in bytes, after decompression; past it, close 1009.
   *  @default {67108864} */
  maxMessageSize?: number;
  /** Seconds to wait for the peer's close frame after ours before cutting the connection.
   *  @default {5} */
  closeTimeout?: number;
  /** Largest `bufferedAmount` in bytes; a send past it closes the connection (the peer does not
   *  read). @default {67108864} */
  maxBufferedAmount?: number;
}

/** What {@link upgradeWebSocket} returns, as `Deno.WebSocketUpgrade`. */
export interface WebSocketUpgrade {
  /** The response the handler must return: a 101 (or the refusal of a bad handshake). */
  response: Response;
  /** The server's end of the connection, once the response is sent. */
  socket: WebSocket;
}

const MIB = 1024 * 1024;

/**
 * Upgrades a request our engine made to a WebSocket, as `Deno.upgradeWebSocket` does.
 *
 * @example
 * ```ts
 * import { serve, upgradeWebSocket } from "../mod.ts";
 * serve({ port: 8080 }, (request) => {
 *   if (request.headers.get("upgrade") !== "websocket") return new Response("hello");
 *   const { socket, response } = upgradeWebSocket(request);
 *   socket.onmessage = (event) => socket.send(event.data);
 *   return response;
 * });
 * ```
 */
export function upgradeWebSocket(
  request: Request,
  options: UpgradeWebSocketOptions = {},
): WebSocketUpgrade {
  const headers = request.headers;
  // Deno's checks first, with its messages (ext/http/02_websocket.ts).
  if (!hasToken(headers.get("upgrade"), "websocket")) {
    throw new TypeError("Invalid Header: 'upgrade' header must contain 'websocket'");
  }
  if (!hasToken(headers.get("connection"), "upgrade")) {
    throw new TypeError("Invalid Header: 'connection' header must contain 'Upgrade'");
  }
  if (headers.get("sec-websocket-key") === null) {
    throw new TypeError("Invalid Header: 'sec-websocket-key' header must be set");
  }
  const wanted = options.protocol || null;
  if (wanted !== null && !listElements(headers.get("sec-websocket-protocol")).includes(wanted)) {
    throw new TypeError(
      `Protocol '${wanted}' not in the request's protocol list (non negotiable)`,
    );
  }
  const idleTimeout = seconds("idleTimeout", options.idleTimeout ?? 30, true);
  const closeTimeout = seconds("closeTimeout", options.closeTimeout ?? 5, false);
  const maxMessageSize = bytes("maxMessageSize", options.maxMessageSize ?? 64 * MIB);
  const maxBufferedAmount = bytes("maxBufferedAmount", options.maxBufferedAmount ?? 64 * MIB);

  const decision = acceptUpgradeSync(
    { method: request.method, version: "HTTP/1.1", headers: [...headers] },
    { protocols: () => wanted, deflate: options.compression ?? true },
  );
  const url = request.url.replace(/^http/, "ws");
  if (!decision.ok) {
    const socket = new ServerWebSocket({
      url,
      protocol: "",
      extensions: "",
      deflate: null,
      idleTimeout: 0,
      closeTimeout,
      maxMessageSize,
      maxBufferedAmount,
    });
    // After the handler had the chance to add its listeners.
    setTimeout(() => socket[REFUSED](`WebSocket handshake refused: ${decision.reason}`), 0);
    const response = new Response(`${decision.reason}\n`, {
      status: decision.status,
      headers: [...decision.headers, ["content-type", "text/plain; charset=utf-8"]],
    });
    return { socket: socket as unknown as WebSocket, response };
  }
  const extensions = decision.headers.find(([name]) => name === "sec-websocket-extensions");
  const socket = new ServerWebSocket({
    url,
    protocol: decision.protocol ?? "",
    extensions: extensions?.[1] ?? "",
    deflate: decision.deflate,
    idleTimeout,
    closeTimeout,
    maxMessageSize,
    maxBufferedAmount,
  });
  const response = new SwitchingProtocols(decision.headers, {
    run: (conn, buffered, signal, pending) => socket[RUN](conn, buffered, signal, pending),
    abandon: () => socket[REFUSED]("the connection was not switched to WebSocket"),
  });
  return { socket: socket as unknown as WebSocket, response };
}

/** Whether a comma-separated field value has `token` (case-insensitive). */
function hasToken(value: string | null, token: string): boolean {
  return listElements(value).some((element) => element.toLowerCase() === token);
}

function seconds(name: string, value: number, zeroAllowed: boolean): number {
  if (typeof value !== "number" || !(value > 0 || (zeroAllowed && value === 0))) {
    throw new RangeError(`${name} must be a number of seconds, got ${String(value)}`);
  }
  return value * 1000;
}

function bytes(name: string, value: number): number {
  if (typeof value !== "number" || !(value >= 1)) {
    throw new RangeError(`${name} must be a positive number of bytes, got ${String(value)}`);
  }
  return value;
}

// ---- Deno.upgradeWebSocket ---------------------------------------------------------------------

type DenoUpgrade = typeof Deno.upgradeWebSocket;
let installed = false;

/**
 * Makes `Deno.upgradeWebSocket` work on the requests our engine made, leaving every other
 * request to Deno's own. Idempotent; a runtime whose `Deno.upgradeWebSocket` cannot be replaced
 * is left alone (our requests then need {@link upgradeWebSocket}).
 */
export function installDenoUpgradeWebSocket(): void {
  if (installed) return;
  installed = true;
  const descriptor = Object.getOwnPropertyDescriptor(Deno, "upgradeWebSocket");
  if (descriptor === undefined || !descriptor.configurable) return;
  let original: DenoUpgrade | undefined = descriptor.get
    ? descriptor.get.call(Deno)
    : descriptor.value;
  // Named as Deno's for stack traces; `ours` because the name shadows the module's function.
  const ours = upgradeWebSocket;
  const wrapper = function upgradeWebSocket(
    request: Request,
    options?: Deno.UpgradeWebSocketOptions,
  ): Deno.WebSocketUpgrade {
    // `socket` (a node:net Socket from node:http's "upgrade" event) is Deno's business.
    if (request instanceof Request && arrivalOf(request) !== undefined && !options?.socket) {
      return ours(request, options);
    }
    if (original === undefined) throw new TypeError("Deno.upgradeWebSocket is not available");
    return original.call(Deno, request, options);
  };
  Object.defineProperty(Deno, "upgradeWebSocket", {
    configurable: true,
    enumerable: descriptor.enumerable,
    get: () => wrapper,
    // Code that replaces it (a test's stub) replaces what other requests get.
    set: (value: DenoUpgrade) => {
      original = value;
    },
  });
}
