/**
 * The server's side of the opening handshake (RFC 6455 §4.2) as pure functions: the engine hands
 * over the request line and header list, and gets back either a 101 with its headers or the
 * status, reason and headers of a refusal. Bad client input never throws.
 */
import {
  type DeflateNegotiation,
  type DeflateParams,
  negotiateDeflate,
  parseExtensions,
} from "./deflate.ts";
import { sha1 } from "./sha1.ts";

/** Header fields in order, names lower-cased, duplicates kept. */
export type HeaderList = [string, string][];

export interface UpgradeRequest {
  method: string;
  /** As on the request line: "HTTP/1.1". */
  version: string;
  headers: HeaderList;
}

export interface HandshakeRefusal {
  ok: false;
  /** 400 malformed, 405 not GET, 426 unsupported Sec-WebSocket-Version. */
  status: 400 | 405 | 426;
  reason: string;
  /** Headers the refusal must carry (`Allow`, `Sec-WebSocket-Version`). */
  headers: HeaderList;
}

export interface ValidHandshake {
  ok: true;
  /** The Sec-WebSocket-Key, for `acceptKey`. */
  key: string;
  /** Sec-WebSocket-Protocol offers, in the client's order. */
  protocols: string[];
  /** The Sec-WebSocket-Extensions header, joined; "" if absent. */
  extensions: string;
}

export type HandshakeResult = ValidHandshake | HandshakeRefusal;

/** The GUID of §1.3 that makes the accept value WebSocket-specific. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// §4.1: the key is 16 random bytes, base64-encoded: 22 characters and "==" (RFC 4648 §4).
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** All values of a field, comma-joined (RFC 9110 §5.3). */
export function headerValue(headers: HeaderList, name: string): string | null {
  let out: string | null = null;
  for (const [n, v] of headers) {
    if (n === name) out = out === null ? v : `${out}, ${v}`;
  }
  return out;
}

/** Comma-separated list elements, trimmed, empty ones dropped (RFC 9110 §5.6.1). */
export function listElements(value: string | null): string[] {
  if (value === null) return [];
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

const refuse = (
  status: 400 | 405 | 426,
  reason: string,
  headers: HeaderList = [],
): HandshakeRefusal => ({ ok: false, status, reason, headers });

/** Checks the client's opening handshake against §4.2.1, in the order a server meets the
 *  fields. The version is checked before the key so that a client speaking an older draft is told
 *  which version to use (§4.2.2 item 4: 426 and `Sec-WebSocket-Version`). */
export function validateHandshake(request: UpgradeRequest): HandshakeResult {
  const { method, version, headers } = request;
  // §4.2.1 item 1: "An HTTP/1.1 or higher GET request". Not GET is 405 + Allow, as in
  // gorilla/websocket; the RFC only says "an appropriate error code (such as 400)".
  if (method !== "GET") return refuse(405, "WebSocket handshake must be a GET", [["allow", "GET"]]);
  const v = /^HTTP\/(\d)\.(\d)$/.exec(version);
  if (!v || Number(v[1]) * 10 + Number(v[2]) < 11) {
    return refuse(400, "WebSocket handshake needs HTTP/1.1 or higher");
  }
  // Items 3 and 4: tokens, compared case-insensitively (RFC 9110 §7.8, §7.6.1). An Upgrade
  // element is a protocol name with an optional "/version"; "websocket" has no version.
  const upgrade = listElements(headerValue(headers, "upgrade")).map((s) => s.toLowerCase());
  if (!upgrade.includes("websocket")) {
    return refuse(400, "Upgrade header does not contain the websocket token");
  }
  const connection = listElements(headerValue(headers, "connection")).map((s) => s.toLowerCase());
  if (!connection.includes("upgrade")) {
    return refuse(400, "Connection header does not contain the upgrade token");
  }
  // Item 6: "The value of this header field MUST be 13."
  const wsVersion = headerValue(headers, "sec-websocket-version");
  if (wsVersion === null || wsVersion.trim() !== "13") {
    return refuse(426, "unsupported Sec-WebSocket-Version", [["sec-websocket-version", "13"]]);
  }
  // Item 5: a base64 value that decodes to 16 bytes; one field only.
  const keys = headers.filter(([n]) => n === "sec-websocket-key");
  if (keys.length !== 1) {
    return refuse(400, keys.length ? "more than one Sec-WebSocket-Key" : "no Sec-WebSocket-Key");
  }
  const key = keys[0][1].trim();
  if (!KEY.test(key)) return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  // §4.1 item 10 / §11.3.4: "1#token" in the client's order of preference.
  const protocols = listElements(headerValue(headers, "sec-websocket-protocol"));
  if (!protocols.every((p) => TOKEN.test(p))) {
    return refuse(400, "Sec-WebSocket-Protocol is not a list of tokens");
  }
  return {
    ok: true,
    key,
    protocols,
    extensions: headerValue(headers, "sec-websocket-extensions") ?? "",
  };
}

/** §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(key + WEBSOCKET_GUID),
  );
  let binary = "";
  for (const b of new Uint8Array(digest)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** {@link acceptKey} without waiting: the same value, for callers that cannot await (as
 *  `Deno.upgradeWebSocket`, which is synchronous). */
export function acceptKeySync(key: string): string {
  const digest = sha1(new TextEncoder().encode(key + WEBSOCKET_GUID));
  let binary = "";
  for (const b of digest) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The subprotocol to answer: the first of the server's, in its order of preference, that the
 *  client offered; null if none (the response then has no Sec-WebSocket-Protocol, §4.2.2). */
export function selectSubprotocol(offered: string[], supported: string[]): string | null {
  return supported.find((p) => offered.includes(p)) ?? null;
}

export interface AcceptOptions {
  /** Subprotocols the server speaks, best first, or a function choosing among the offers. */
  protocols?: string[] | ((offered: string[]) => string | null);
  /** Negotiate permessage-deflate when offered (default true). */
  deflate?: boolean;
}

export interface HandshakeAccepted {
  ok: true;
  status: 101;
  /** The 101 response's headers (besides any the engine always adds). */
  headers: HeaderList;
  protocol: string | null;
  /** Non-null when permessage-deflate was agreed: pass it to `WebSocketProtocol`. */
  deflate: DeflateParams | null;
}

export type UpgradeDecision = HandshakeAccepted | HandshakeRefusal;

/** Validates the request and builds the 101 answer: accept key, subprotocol, extensions.
 *  Throws TypeError only for a server bug: a chosen subprotocol the client did not offer. */
export async function acceptUpgrade(
  request: UpgradeRequest,
  options: AcceptOptions = {},
): Promise<UpgradeDecision> {
  const decision = decideUpgrade(request, options);
  if (!decision.ok) return decision;
  decision.headers[2][1] = await acceptKey(decision.headers[2][1]);
  return decision;
}

/** {@link acceptUpgrade} without waiting: the accept value is computed by {@link sha1}. */
export function acceptUpgradeSync(
  request: UpgradeRequest,
  options: AcceptOptions = {},
): UpgradeDecision {
  const decision = decideUpgrade(request, options);
  if (!decision.ok) return decision;
  decision.headers[2][1] = acceptKeySync(decision.headers[2][1]);
  return decision;
}

/** The decision, with the client's key where the accept value goes. */
function decideUpgrade(request: UpgradeRequest, options: AcceptOptions): UpgradeDecision {
  const valid = validateHandshake(request);
  if (!valid.ok) return valid;
  const { protocols = [], deflate = true } = options;
  const protocol = typeof protocols === "function"
    ? protocols(valid.protocols)
    : selectSubprotocol(valid.protocols, protocols);
  // §4.2.2 item 5.4 (/subprotocol/): "a single value representing the subprotocol … the value
  // chosen MUST be derived from the client's handshake".
  if (protocol !== null && !valid.protocols.includes(protocol)) {
    throw new TypeError(`subprotocol ${JSON.stringify(protocol)} was not offered by the client`);
  }
  let negotiated: DeflateNegotiation | null = null;
  if (deflate && valid.extensions !== "") {
    const offers = parseExtensions(valid.extensions);
    // RFC 6455 §9.1: a value not matching the grammar fails the connection.
    if (offers === null) return refuse(400, "malformed Sec-WebSocket-Extensions");
    negotiated = negotiateDeflate(offers);
  }
  const headers: HeaderList = [
    ["upgrade", "websocket"],
    ["connection", "Upgrade"],
    ["sec-websocket-accept", valid.key], // replaced by the accept value (headers[2])
  ];
  if (protocol !== null) headers.push(["sec-websocket-protocol", protocol]);
  if (negotiated) headers.push(["sec-websocket-extensions", negotiated.response]);
  return { ok: true, status: 101, headers, protocol, deflate: negotiated?.params ?? null };
}
