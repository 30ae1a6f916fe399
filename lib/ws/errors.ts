/**
 * The one error type of the WebSocket core. `code` is the close code to send before closing the
 * connection (RFC 6455 §7.1.7 "Fail the WebSocket Connection", codes from §7.4.1).
 */
export class WebSocketProtocolError extends Error {
  override name = "WebSocketProtocolError";
  constructor(
    /** 1002 protocol error, 1007 invalid payload data, 1009 message too big. */
    readonly code: 1002 | 1007 | 1009,
    message: string,
  ) {
    super(message);
  }
}

/** The caller did something the connection's state forbids (e.g. sending after a close). */
export class WebSocketStateError extends Error {
  override name = "WebSocketStateError";
}

/** Shorthands, so call sites read like the RFC: `protocolError("…")`. */
export const protocolError = (message: string) => new WebSocketProtocolError(1002, message);
export const invalidData = (message: string) => new WebSocketProtocolError(1007, message);
export const tooBig = (message: string) => new WebSocketProtocolError(1009, message);
