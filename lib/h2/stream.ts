/**
 * One stream's state as the server sees it (RFC 9113 §5.1). Only streams that are open or
 * half-closed have a record; idle streams have none yet and closed ones are dropped (a short
 * memory of why they closed lives in the connection).
 *
 *   open ──END_STREAM received──▶ half-closed (remote) ──END_STREAM sent──▶ closed
 *   open ──END_STREAM sent──────▶ half-closed (local) ──END_STREAM received─▶ closed
 *   any ──RST_STREAM either way─▶ closed
 *
 * @module
 */

export class H2Stream {
  /** END_STREAM received: the request is complete (half-closed remote). */
  remoteClosed = false;
  /** A final (non-1xx) response HEADERS was sent. */
  responded = false;
  /** END_STREAM sent (half-closed local). */
  localClosed = false;
  /** Octets we may still send (§6.9), may go negative after a SETTINGS change (§6.9.2). */
  sendWindow: number;
  /** Octets the peer may still send us. */
  recvWindow: number;
  /** Consumed by the application but not yet returned in a WINDOW_UPDATE. */
  unacked = 0;
  /** Delivered in data events but not yet reported consumed. */
  unconsumed = 0;
  /** Declared content-length or -1; checked against the DATA received (§8.1.1). */
  contentLength = -1;
  received = 0;
  /** The application was told "not all fit": owed a windowOpen event. */
  blocked = false;

  constructor(readonly id: number, sendWindow: number, recvWindow: number) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}
