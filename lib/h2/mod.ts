/**
 * HTTP/2 without I/O (RFC 9113, RFC 7541): frames, HPACK, and the server connection state
 * machine. Bytes in, events out; the engine owns the socket.
 *
 * @module
 */

export { ByteWriter } from "./buffer.ts";
export { ConnectionError, ErrorCode, errorName, StreamError } from "./errors.ts";
export {
  CONNECTION_SPECIFIC,
  type ParsedRequest,
  parseRequest,
  parseTrailers,
  type RequestPseudo,
  validName,
  validValue,
} from "./fields.ts";
export * from "./frame.ts";
export * from "./hpack/mod.ts";
export { H2Stream } from "./stream.ts";
export {
  CLIENT_PREFACE,
  type ConnectionErrorEvent,
  type DataEvent,
  type GoAwayEvent,
  type H2Event,
  H2ServerConnection,
  type H2Settings,
  type PeerSettings,
  type PingAckEvent,
  type RequestEvent,
  type ResetEvent,
  type SettingsEvent,
  type TrailersEvent,
  type WindowOpenEvent,
} from "./connection.ts";
