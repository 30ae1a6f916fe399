/**
 * An HTTP/1.1 request recognizer written from the ABNF of RFC 9112 and RFC 9110 (and RFC 3986 for
 * request targets) as plainly as possible, for the differential tests: it says whether a request
 * head (and a chunked body) is valid, and how the body is framed. It shares no code with lib/ on
 * purpose: a rule misread there must not be misread here the same way.
 *
 * It is slow and simple: bytes become a string of one char per byte (ISO-8859-1), each rule is a
 * regular expression or a small function with the ABNF beside it. Limits (head size, body size)
 * are not part of the grammar and are not checked here.
 *
 * The grammar alone is the strict reading. Where the RFCs let a recipient be more lenient than
 * the grammar, that is an explicit option ({@link OracleOptions}); {@link OUR_LENIENCIES} is the
 * set our parser is meant to keep, each with the RFC text that allows it.
 */

// ---- Core rules (RFC 5234 Appendix B.1, RFC 9110 §5.6) -------------------------------------

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA
// token = 1*tchar
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const TOKEN = `${TCHAR}+`;
// OWS = *( SP / HTAB ); BWS = OWS
const OWS = "[ \\t]*";
// obs-text = %x80-FF
// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
const QUOTED_STRING =
  '"(?:[\\t !\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';

// ---- URI pieces (RFC 3986 §2, §3) ------------------------------------------------------------

// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
const UNRESERVED = "[A-Za-z0-9\\-._~]";
// pct-encoded = "%" HEXDIG HEXDIG
const PCT_ENCODED = "%[0-9A-Fa-f]{2}";
// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
const SUB_DELIMS = "[!$&'()*+,;=]";
// pchar = unreserved / pct-encoded / sub-delims / ":" / "@"
const PCHAR = `(?:${UNRESERVED}|${PCT_ENCODED}|${SUB_DELIMS}|[:@])`;
// segment = *pchar; absolute-path = 1*( "/" segment )              (RFC 9110 §4.1)
const ABSOLUTE_PATH = `(?:/${PCHAR}*)+`;
// path-abempty = *( "/" segment )
const PATH_ABEMPTY = `(?:/${PCHAR}*)*`;
// query = *( pchar / "/" / "?" )
const QUERY = `(?:${PCHAR}|[/?])*`;
// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
const SCHEME = "[A-Za-z][A-Za-z0-9+\\-.]*";
// dec-octet = DIGIT / %x31-39 DIGIT / "1" 2DIGIT / "2" %x30-34 DIGIT / "25" %x30-35
const DEC_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])";
// IPv4address = dec-octet "." dec-octet "." dec-octet "." dec-octet
const IPV4 = `${DEC_OCTET}\\.${DEC_OCTET}\\.${DEC_OCTET}\\.${DEC_OCTET}`;
// h16 = 1*4HEXDIG; ls32 = ( h16 ":" h16 ) / IPv4address
const H16 = "[0-9A-Fa-f]{1,4}";
const LS32 = `(?:${H16}:${H16}|${IPV4})`;
// IPv6address =                            6( h16 ":" ) ls32
//             /                       "::" 5( h16 ":" ) ls32
//             / [               h16 ] "::" 4( h16 ":" ) ls32
//             / [ *1( h16 ":" ) h16 ] "::" 3( h16 ":" ) ls32
//             / [ *2( h16 ":" ) h16 ] "::" 2( h16 ":" ) ls32
//             / [ *3( h16 ":" ) h16 ] "::"    h16 ":"   ls32
//             / [ *4( h16 ":" ) h16 ] "::"              ls32
//             / [ *5( h16 ":" ) h16 ] "::"              h16
//             / [ *6( h16 ":" ) h16 ] "::"
const upTo = (n: number) => (n < 0 ? "" : `(?:(?:${H16}:){0,${n}}${H16})?`);
const IPV6 = "(?:" + [
  `(?:${H16}:){6}${LS32}`,
  `::(?:${H16}:){5}${LS32}`,
  `${upTo(0)}::(?:${H16}:){4}${LS32}`,
  `${upTo(1)}::(?:${H16}:){3}${LS32}`,
  `${upTo(2)}::(?:${H16}:){2}${LS32}`,
  `${upTo(3)}::${H16}:${LS32}`,
  `${upTo(4)}::${LS32}`,
  `${upTo(5)}::${H16}`,
  `${upTo(6)}::`,
].join("|") + ")";
// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )  ("v": either case, RFC 5234 §2.3)
const IPV_FUTURE = `[vV][0-9A-Fa-f]+\\.(?:${UNRESERVED}|${SUB_DELIMS}|:)+`;
// IP-literal = "[" ( IPv6address / IPvFuture ) "]"
const IP_LITERAL = `\\[(?:${IPV6}|${IPV_FUTURE})\\]`;
// reg-name = *( unreserved / pct-encoded / sub-delims )
const REG_NAME = `(?:${UNRESERVED}|${PCT_ENCODED}|${SUB_DELIMS})*`;
// host = IP-literal / IPv4address / reg-name (an IPv4address is also a reg-name)
const HOST = `(?:${IP_LITERAL}|${IPV4}|${REG_NAME})`;
// port = *DIGIT
const PORT = "[0-9]*";
// userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
const USERINFO = `(?:${UNRESERVED}|${PCT_ENCODED}|${SUB_DELIMS}|:)*`;

// Host = uri-host [ ":" port ]                                          (RFC 9110 §7.2)
const HOST_FIELD_RE = new RegExp(`^${HOST}(?::${PORT})?$`);
// authority-form = uri-host ":" port                                    (RFC 9112 §3.2.3)
const AUTHORITY_FORM_RE = new RegExp(`^${HOST}:${PORT}$`);
// origin-form = absolute-path [ "?" query ]                             (RFC 9112 §3.2.1)
const ORIGIN_FORM_RE = new RegExp(`^${ABSOLUTE_PATH}(?:\\?${QUERY})?$`);
// absolute-form = absolute-URI; absolute-URI = scheme ":" hier-part [ "?" query ]
// hier-part = "//" authority path-abempty / path-absolute / path-rootless / path-empty
// Only the "//" authority shape is recognized here, with the authority taken apart so the http
// rules (RFC 9110 §4.2) can be applied to it; other absolute URIs are rejected (see
// `otherAbsoluteForms`).
const ABSOLUTE_FORM_RE = new RegExp(
  `^(${SCHEME}):\\/\\/(?:(${USERINFO})@)?(${HOST})(?::(${PORT}))?(${PATH_ABEMPTY})(?:\\?(${QUERY}))?$`,
);
const SCHEME_COLON_RE = new RegExp(`^${SCHEME}:`);

// ---- Options -------------------------------------------------------------------------------

/** Leniencies the RFCs allow a recipient; each off means the grammar is applied as written. */
export interface OracleOptions {
  /**
   * Empty lines before the request-line are skipped (how many: any number).
   * RFC 9112 §2.2: "In the interest of robustness, a server that is expecting to receive and
   * parse a request-line SHOULD ignore at least one empty line (CRLF) received prior to the
   * request-line."
   */
  leadingEmptyLines: boolean;
  /**
   * A bare LF ends a line of the head (request-line and field lines), a CR before it is dropped.
   * RFC 9112 §2.2: "Although the line terminator for the start-line and fields is the sequence
   * CRLF, a recipient MAY recognize a single LF as a line terminator and ignore any preceding CR."
   * It does not extend to the chunked coding (chunk-size lines, trailers), which stays CRLF.
   */
  bareLf: boolean;
  /**
   * HTTP/1.x with x > 1 is handled as HTTP/1.1 (otherwise rejected with 505).
   * RFC 9110 §6.2: "A recipient that receives a message with a major version number that it
   * implements and a minor version number higher than what it implements SHOULD process the
   * message as if it were in the highest minor version within that major version to which the
   * recipient is conformant."
   */
  higherMinorAs11: boolean;
  /**
   * `Content-Length: 5, 5` (a list of one value repeated), and repeated Content-Length fields
   * with one value, are read as that value.
   * RFC 9110 §8.6: "a recipient of a Content-Length header field value consisting of the same
   * decimal value repeated as a comma-separated list (e.g, "Content-Length: 42, 42") MAY either
   * reject the message as invalid or replace that invalid field value with a single instance of
   * the decimal value".
   */
  contentLengthList: boolean;
  /**
   * In origin-form and in the path and query of absolute-form, any VCHAR but "#" is taken:
   * characters RFC 3986 does not allow there (`"<>\^`{|}[]`) and malformed percent-encoding are
   * passed on to the application rather than refused.
   * RFC 9112 §3.2: "Recipients of an invalid request-line SHOULD respond with either a 400 (Bad
   * Request) error or a 301 (Moved Permanently) redirect with the request-target properly
   * encoded." (a SHOULD; browsers send some of these raw, and nginx and Deno.serve take them).
   */
  lenientTargetChars: boolean;
}

/** The strict grammar: no leniency at all. */
export const STRICT: Readonly<OracleOptions> = Object.freeze({
  leadingEmptyLines: false,
  bareLf: false,
  higherMinorAs11: false,
  contentLengthList: false,
  lenientTargetChars: false,
});

/** The leniencies lib/h1 keeps on purpose (see docs/security.md). */
export const OUR_LENIENCIES: Readonly<OracleOptions> = Object.freeze({
  leadingEmptyLines: true,
  bareLf: true,
  higherMinorAs11: true,
  contentLengthList: false,
  lenientTargetChars: true,
});

// ---- Results -------------------------------------------------------------------------------

/** How the body is delimited (RFC 9112 §6.3). A length of 0 is "none". */
export type OracleFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

export type HeadVerdict =
  | {
    verdict: "accept";
    framing: OracleFraming;
    /** Bytes up to and including the empty line that ends the head. */
    headLength: number;
    minor: number;
  }
  | { verdict: "reject"; reason: string }
  | { verdict: "incomplete" };

export type ChunkedVerdict =
  | { verdict: "accept"; body: string; length: number }
  | { verdict: "reject"; reason: string }
  | { verdict: "incomplete" };

const reject = (reason: string) => ({ verdict: "reject" as const, reason });

/** Bytes as a string of one char per byte. */
export function bytesToLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

// ---- The head ------------------------------------------------------------------------------

/**
 * Splits the head into lines (RFC 9112 §2.1):
 * HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
 * Returns the lines without their terminators and the head's length, or null if no empty line
 * ends it yet. Under `bareLf`, LF is the terminator and a CR before it is dropped (§2.2);
 * otherwise a line ends at CRLF only, and a bare LF stays in the line (where no rule allows it).
 */
function splitHead(
  text: string,
  options: OracleOptions,
): { lines: string[]; length: number } | null {
  const lines: string[] = [];
  let pos = 0;
  let started = false;
  for (;;) {
    let end: number;
    let next: number;
    if (options.bareLf) {
      const lf = text.indexOf("\n", pos);
      if (lf === -1) return null;
      next = lf + 1;
      end = lf > pos && text[lf - 1] === "\r" ? lf - 1 : lf;
    } else {
      const crlf = text.indexOf("\r\n", pos);
      if (crlf === -1) return null;
      next = crlf + 2;
      end = crlf;
    }
    const line = text.slice(pos, end);
    pos = next;
    if (line === "") {
      if (!started) {
        if (options.leadingEmptyLines) continue;
        // No leniency: the empty line is the request-line, which is then malformed.
        lines.push(line);
        return { lines, length: pos };
      }
      return { lines, length: pos };
    }
    started = true;
    lines.push(line);
  }
}

// request-line = method SP request-target SP HTTP-version                 (RFC 9112 §3)
// method = token                                                          (RFC 9110 §9.1)
// HTTP-version = HTTP-name "/" DIGIT "." DIGIT; HTTP-name = %s"HTTP"       (RFC 9112 §2.3)
const REQUEST_LINE_RE = new RegExp(`^(${TOKEN}) ([^ ]+) HTTP\\/([0-9])\\.([0-9])$`);

// field-line = field-name ":" OWS field-value OWS                         (RFC 9112 §5)
// field-name = token
// field-value = *field-content
// field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
// field-vchar = VCHAR / obs-text
// No whitespace between field-name and ":" (§5.1), and no obs-fold (§5.2: a line starting with
// SP or HTAB is not a field-line; a server MUST reject it or replace it, we reject).
const FIELD_LINE_RE = new RegExp(
  `^(${TOKEN}):${OWS}((?:[\\x21-\\x7e\\x80-\\xff](?:[ \\t\\x21-\\x7e\\x80-\\xff]*[\\x21-\\x7e\\x80-\\xff])?)?)${OWS}$`,
);

/** Is `target` a valid request-target for `method`? (RFC 9112 §3.2) */
function checkTarget(method: string, target: string, options: OracleOptions): string | null {
  // authority-form is only used for CONNECT, and CONNECT only uses it (§3.2.3, RFC 9110 §9.3.6).
  if (method === "CONNECT") {
    return AUTHORITY_FORM_RE.test(target) ? null : "CONNECT needs authority-form";
  }
  // asterisk-form = "*", only for a server-wide OPTIONS (§3.2.4).
  if (target === "*") return method === "OPTIONS" ? null : "asterisk-form is for OPTIONS only";
  if (target.startsWith("/")) {
    if (options.lenientTargetChars) {
      return /^\/[\x21-\x22\x24-\x7e]*$/.test(target) ? null : "invalid origin-form";
    }
    return ORIGIN_FORM_RE.test(target) ? null : "invalid origin-form";
  }
  return checkAbsoluteForm(target, options);
}

/**
 * absolute-form = absolute-URI (§3.2.2). For http and https (RFC 9110 §4.2.1, §4.2.2):
 * http-URI = "http" "://" authority path-abempty [ "?" query ]; "A sender MUST NOT generate an
 * "http" URI with an empty host identifier. A recipient that processes such a URI reference MUST
 * reject it as invalid." and userinfo (§4.2.4): "a recipient SHOULD parse for userinfo and treat
 * its presence as an error". A server that takes only http and https (ours) may refuse any other
 * scheme; the oracle accepts other schemes only in the "//" authority shape.
 */
function checkAbsoluteForm(target: string, options: OracleOptions): string | null {
  let text = target;
  if (options.lenientTargetChars) {
    // The authority is still checked strictly; what follows it may be any VCHAR but "#".
    const m = /^([A-Za-z][A-Za-z0-9+\-.]*:\/\/[^/?]*)([/?][\x21-\x22\x24-\x7e]*)?$/.exec(target);
    if (m === null) return SCHEME_COLON_RE.test(target) ? "unsupported absolute-URI shape" : "bad";
    text = m[1];
  }
  const m = ABSOLUTE_FORM_RE.exec(text);
  if (m === null) return "invalid absolute-form";
  const scheme = m[1].toLowerCase();
  if (scheme === "http" || scheme === "https") {
    if (m[2] !== undefined) return "userinfo in an http(s) URI";
    if (m[3] === "") return "empty host in an http(s) URI";
  }
  return null;
}

/**
 * Whether the request head in `bytes` (from its first byte) is valid, and if so how its body is
 * framed. Only the head is looked at; the body is for {@link oracleChunked}.
 */
export function oracleHead(
  bytes: Uint8Array,
  options: OracleOptions = OUR_LENIENCIES,
): HeadVerdict {
  const text = bytesToLatin1(bytes);
  const split = splitHead(text, options);
  if (split === null) return { verdict: "incomplete" };
  const [requestLine, ...fieldLines] = split.lines;

  const rl = REQUEST_LINE_RE.exec(requestLine);
  if (rl === null) return reject("malformed request-line");
  const [, method, target, majorText, minorText] = rl;
  const major = Number(majorText);
  let minor = Number(minorText);
  if (major !== 1) return reject("HTTP major version not 1 (505)");
  if (minor > 1) {
    if (!options.higherMinorAs11) return reject("HTTP/1.x with x > 1");
    minor = 1;
  }
  const targetError = checkTarget(method, target, options);
  if (targetError !== null) return reject(targetError);

  const fields: [string, string][] = [];
  for (const line of fieldLines) {
    const m = FIELD_LINE_RE.exec(line);
    if (m === null) return reject(`malformed field-line ${JSON.stringify(line)}`);
    fields.push([m[1].toLowerCase(), m[2]]);
  }
  const values = (name: string) => fields.filter(([n]) => n === name).map(([, v]) => v);

  // Host (RFC 9112 §3.2): "A server MUST respond with a 400 (Bad Request) status code to any
  // HTTP/1.1 request message that lacks a Host header field and to any request message that
  // contains more than one Host header field line or a Host header field with an invalid field
  // value."
  const hosts = values("host");
  if (hosts.length > 1) return reject("more than one Host");
  if (minor === 1 && hosts.length === 0) return reject("HTTP/1.1 without Host");
  if (hosts.length === 1 && !HOST_FIELD_RE.test(hosts[0])) return reject("invalid Host");

  // Transfer-Encoding = #transfer-coding                                  (RFC 9112 §6.1)
  // transfer-coding = token *( OWS ";" OWS transfer-parameter )           (RFC 9110 §10.1.4)
  // transfer-parameter = token BWS "=" BWS ( token / quoted-string )
  // #element: elements separated by OWS "," OWS; empty elements are allowed (RFC 9110 §5.6.1).
  const teFields = values("transfer-encoding");
  const codings: string[] = [];
  for (const value of teFields) {
    const parsed = parseList(value, TRANSFER_CODING_RE);
    if (parsed === null) return reject("malformed Transfer-Encoding");
    for (const element of parsed) codings.push(TOKEN_AT_START.exec(element)![0].toLowerCase());
  }

  // Content-Length = 1*DIGIT                                              (RFC 9110 §8.6)
  const clFields = values("content-length");
  let contentLength: bigint | undefined;
  for (const value of clFields) {
    let members: string[];
    if (options.contentLengthList) {
      const parsed = parseList(value, /^[0-9]+$/);
      if (parsed === null || parsed.length === 0 || parsed.length !== countCommas(value) + 1) {
        return reject("invalid Content-Length");
      }
      members = parsed;
    } else {
      if (!/^[0-9]+$/.test(value)) return reject("invalid Content-Length");
      if (clFields.length > 1) return reject("more than one Content-Length");
      members = [value];
    }
    for (const member of members) {
      const n = BigInt(member);
      if (contentLength !== undefined && n !== contentLength) {
        return reject("differing Content-Length values");
      }
      contentLength = n;
    }
  }

  // Message body length (RFC 9112 §6.3).
  let framing: OracleFraming = { kind: "none" };
  if (teFields.length > 0) {
    // §6.1: "A server or client that receives an HTTP/1.0 message containing a
    // Transfer-Encoding header field MUST treat the message as if the framing is faulty".
    if (minor === 0) return reject("Transfer-Encoding in HTTP/1.0");
    // §6.3 ¶3: "A server MAY reject a request that contains both Content-Length and
    // Transfer-Encoding" (and it is the smuggling precondition): rejected.
    if (clFields.length > 0) return reject("Transfer-Encoding with Content-Length");
    // §6.3 ¶4: chunked not final → "the server MUST respond with the 400 (Bad Request)".
    if (codings.length === 0 || codings[codings.length - 1] !== "chunked") {
      return reject("chunked is not the final transfer coding");
    }
    // §7: "A sender MUST NOT apply the chunked transfer coding more than once".
    if (codings.filter((c) => c === "chunked").length > 1) return reject("chunked twice");
    framing = { kind: "chunked" };
  } else if (contentLength !== undefined && contentLength > 0n) {
    framing = { kind: "length", length: Number(contentLength) };
  }
  return { verdict: "accept", framing, headLength: split.length, minor };
}

const TRANSFER_CODING_RE = new RegExp(
  `^${TOKEN}(?:${OWS};${OWS}${TOKEN}${OWS}=${OWS}(?:${TOKEN}|${QUOTED_STRING}))*$`,
);
const TOKEN_AT_START = new RegExp(`^${TOKEN}`);

function countCommas(text: string): number {
  return text.split(",").length - 1;
}

/**
 * `#element` (RFC 9110 §5.6.1): a list of elements matching `element`, separated by commas with
 * OWS around them; empty elements are skipped. A quoted-string element may hold commas, so the
 * split respects quotes. Returns the non-empty elements, or null if one does not match.
 */
function parseList(value: string, element: RegExp): string[] | null {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      current += c;
      if (c === "\\" && i + 1 < value.length) current += value[++i];
      else if (c === '"') quoted = false;
    } else if (c === ",") {
      parts.push(current);
      current = "";
    } else {
      if (c === '"') quoted = true;
      current += c;
    }
  }
  parts.push(current);
  const out: string[] = [];
  for (const part of parts) {
    const trimmed = part.replace(/^[ \t]+|[ \t]+$/g, "");
    if (trimmed === "") continue;
    if (!element.test(trimmed)) return null;
    out.push(trimmed);
  }
  return out;
}

// ---- The chunked coding (RFC 9112 §7.1) ----------------------------------------------------

// chunked-body = *chunk last-chunk trailer-section CRLF
// chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
// chunk-size = 1*HEXDIG
// last-chunk = 1*("0") [ chunk-ext ] CRLF
// chunk-data = 1*OCTET
// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
// chunk-ext-name = token; chunk-ext-val = token / quoted-string
// trailer-section = *( field-line CRLF )
// The line endings here are CRLF only: §2.2's bare-LF leniency covers the start-line and the
// header fields, not the chunked coding.
const CHUNK_LINE_RE = new RegExp(
  `^([0-9A-Fa-f]+)((?:${OWS};${OWS}${TOKEN}(?:${OWS}=${OWS}(?:${TOKEN}|${QUOTED_STRING}))?)*)$`,
);

/** Whether `bytes[start..]` begins with a valid chunked body; its decoded data and length. */
export function oracleChunked(bytes: Uint8Array, start = 0): ChunkedVerdict {
  const text = bytesToLatin1(bytes.subarray(start));
  let pos = 0;
  let body = "";
  for (;;) {
    const crlf = text.indexOf("\r\n", pos);
    if (crlf === -1) return { verdict: "incomplete" };
    const m = CHUNK_LINE_RE.exec(text.slice(pos, crlf));
    if (m === null) return reject("malformed chunk-size line");
    const size = BigInt(`0x${m[1]}`);
    pos = crlf + 2;
    if (size === 0n) break; // last-chunk
    if (size > BigInt(text.length)) return { verdict: "incomplete" };
    const n = Number(size);
    if (pos + n + 2 > text.length) {
      // Not all there yet; but a byte already received after the data must be CR, then LF.
      const after = text.slice(pos + n);
      if (after.length >= 1 && after[0] !== "\r") return reject("chunk-data not followed by CRLF");
      return { verdict: "incomplete" };
    }
    body += text.slice(pos, pos + n);
    if (text.slice(pos + n, pos + n + 2) !== "\r\n") {
      return reject("chunk-data not followed by CRLF");
    }
    pos += n + 2;
  }
  for (;;) {
    const crlf = text.indexOf("\r\n", pos);
    if (crlf === -1) return { verdict: "incomplete" };
    const line = text.slice(pos, crlf);
    pos = crlf + 2;
    if (line === "") return { verdict: "accept", body, length: pos };
    if (!FIELD_LINE_RE.test(line)) return reject(`malformed trailer field-line`);
  }
}
