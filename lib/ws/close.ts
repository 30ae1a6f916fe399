/**
 * Close frames (RFC 6455 §5.5.1) and status codes (§7.4).
 *
 * The body of a close frame is empty, or a 2-byte big-endian code followed by a UTF-8 reason.
 * Which codes may appear on the wire (§7.4.1, §7.4.2 and the IANA registry of §11.7):
 *   1000–1003, 1007–1014   defined (1012–1014 registered after the RFC)
 *   1004                   reserved
 *   1005, 1006, 1015       "MUST NOT be set as a status code in a Close control frame"
 *   1016–2999              reserved for future revisions and extensions
 *   3000–3999              libraries, frameworks, applications (IANA registered)
 *   4000–4999              private use
 *   0–999, ≥ 5000          not used
 */
import { invalidData, protocolError } from "./errors.ts";
import { decodeUtf8, isValidUtf8 } from "./utf8.ts";

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reported when a close frame had no code; never sent. */
  NoStatus: 1005,
  /** Reported when the connection dropped without a close frame; never sent. */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;

/** Whether a close frame may carry this code (received or sent). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

export interface CloseInfo {
  /** 1005 (NoStatus) when the frame had no body (§7.1.5). */
  code: number;
  reason: string;
}

/** Parses a received close body. Throws 1002 for a 1-byte body or a code not allowed on the wire,
 *  1007 for a reason that is not UTF-8 (§5.5.1: "data … MUST be UTF-8"). */
export function parseClosePayload(payload: Uint8Array): CloseInfo {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: "" };
  if (payload.length === 1) throw protocolError("close frame with a 1-byte body");
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) throw protocolError(`close code ${code} is not allowed`);
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) throw invalidData("close reason is not valid UTF-8");
  return { code, reason: decodeUtf8(reasonBytes) };
}

const encoder = new TextEncoder();

/** The body of a close frame to send. No code (or 1005) gives an empty body. Throws RangeError
 *  for a code that may not be sent, or a reason over 123 bytes (§5.5: control payload ≤ 125). */
export function encodeClosePayload(code?: number, reason = ""): Uint8Array {
  if (code === undefined || code === CloseCode.NoStatus) {
    if (reason !== "") throw new RangeError("a close reason needs a close code");
    return new Uint8Array(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent`);
  }
  const text = encoder.encode(reason);
  if (text.length > 123) throw new RangeError("close reason longer than 123 bytes");
  const out = new Uint8Array(2 + text.length);
  out[0] = code >>> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}
