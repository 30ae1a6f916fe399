/**
 * HTTP/2 error codes (RFC 9113 §7) and the two ways an endpoint fails: the whole connection
 * (§5.4.1, answered with GOAWAY) or one stream (§5.4.2, answered with RST_STREAM).
 *
 * @module
 */

/** Error codes carried by RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** One of the §7 codes; unknown codes received from a peer are kept as plain numbers. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const NAMES: string[] = [];
for (const [name, code] of Object.entries(ErrorCode)) NAMES[code] = name;

/** "PROTOCOL_ERROR" for 1; unknown codes (§7: "MUST NOT trigger any special behavior") as hex. */
export function errorName(code: number): string {
  return NAMES[code] ?? `0x${code.toString(16)}`;
}

/** A connection error (§5.4.1): the endpoint sends GOAWAY with `code` and closes. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(readonly code: number, message: string) {
    super(`${errorName(code)}: ${message}`);
  }
}

/** A stream error (§5.4.2): RST_STREAM with `code` on `streamId`; the connection lives on. */
export class StreamError extends Error {
  override name = "StreamError";
  constructor(readonly streamId: number, readonly code: number, message: string) {
    super(`stream ${streamId}: ${errorName(code)}: ${message}`);
  }
}
