/**
 * WebSocket (RFC 6455) with permessage-deflate (RFC 7692), sans-I/O: bytes in, events and bytes
 * out. The engine owns the socket; see `protocol.ts` for the contract.
 */
export { WebSocketProtocolError, WebSocketStateError } from "./errors.ts";
export {
  concat,
  encodeFrame,
  type EncodeOptions,
  type Frame,
  type FrameEvent,
  type FrameHeader,
  FrameParser,
  type FrameParserOptions,
  isControl,
  Opcode,
} from "./frame.ts";
export { sha1 } from "./sha1.ts";
export { decodeUtf8, isValidUtf8, Utf8Validator } from "./utf8.ts";
export {
  CloseCode,
  type CloseInfo,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
} from "./close.ts";
export {
  acceptKey,
  acceptKeySync,
  type AcceptOptions,
  acceptUpgrade,
  acceptUpgradeSync,
  type HandshakeAccepted,
  type HandshakeRefusal,
  type HandshakeResult,
  type HeaderList,
  headerValue,
  listElements,
  selectSubprotocol,
  type UpgradeDecision,
  type UpgradeRequest,
  validateHandshake,
  type ValidHandshake,
  WEBSOCKET_GUID,
} from "./handshake.ts";
export {
  deflateMessage,
  deflateMessageSync,
  type DeflateNegotiation,
  type DeflateParams,
  type ExtensionOffer,
  fitsWindow,
  inflateMessage,
  inflateMessageSync,
  loadZlib,
  negotiateDeflate,
  parseExtensions,
  PERMESSAGE_DEFLATE,
  useSyncCodec,
} from "./deflate.ts";
export {
  type ReadyState,
  type Received,
  type SendOptions,
  type WebSocketEvent,
  type WebSocketOptions,
  WebSocketProtocol,
} from "./protocol.ts";
