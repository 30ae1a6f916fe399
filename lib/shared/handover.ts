/**
 * The hand-over of a connection from HTTP/1.1 to another protocol (RFC 9110 §7.8, Upgrade): a
 * handler answers with a {@link SwitchingProtocols} response, the engine writes its 101 head, and
 * from the next byte on the connection belongs to the response's {@link ProtocolHandover}.
 *
 * A type both sides know, as with file bodies: the protocol modules make the response, the
 * engine recognises it. Responses that are not ours pass through untouched.
 *
 * @module
 */

/** A protocol that continues on a connection HTTP/1.1 hands over. */
export interface ProtocolHandover {
  /**
   * Runs the protocol on `conn` until it is done with it; the engine closes the connection
   * after. `buffered` holds what the client sent past the request that asked to switch.
   * `signal` aborts when the server shuts down (the protocol then says goodbye its own way,
   * within the grace period) or when the connection must end at once. `pending` is a read of
   * the connection that was already under way (started while an async handler ran): its bytes,
   * or null at EOF, come before anything read from `conn`. Resolves with the bytes the protocol
   * wrote, if it counts them, for the access log's record of the connection's end.
   */
  run(
    conn: Deno.Conn,
    buffered: Uint8Array,
    signal: AbortSignal,
    pending?: Promise<Uint8Array | null> | null,
  ): Promise<number | void>;
  /**
   * Called instead of {@link run} when the engine does not switch after all (the request was not
   * HTTP/1.1 read in full, or the server is shutting down): the protocol will never start.
   */
  abandon?(): void;
}

/**
 * A `101 Switching Protocols` response: the fields of its 101 head (`upgrade`, `connection` and
 * the protocol's own) and what takes the connection over. `new Response()` refuses a 1xx
 * status, so this one reports 101 itself.
 */
export class SwitchingProtocols extends Response {
  /** What runs on the connection after the 101 head. */
  readonly handover: ProtocolHandover;

  constructor(headers: HeadersInit, handover: ProtocolHandover) {
    super(null, { status: 200, headers });
    this.handover = handover;
  }

  override get status(): number {
    return 101;
  }

  override get statusText(): string {
    return "Switching Protocols";
  }

  override get ok(): boolean {
    return false;
  }
}
