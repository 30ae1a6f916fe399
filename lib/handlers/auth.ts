/**
 * HTTP Basic authentication (RFC 7617) in front of a handler: a request without one of the
 * configured user/password pairs gets 401 with `WWW-Authenticate: Basic realm="…",
 * charset="UTF-8"`. Both the user name and the password are compared in constant time: each side
 * is hashed (SHA-256) to 32 bytes and the digests compared with no early exit, against every
 * configured pair, so the time taken says neither which part was wrong nor how much of it.
 *
 * Basic credentials are sent in the clear on every request: use it over HTTPS, or on loopback.
 *
 * @module
 */

import type { Handler } from "../shared/types.ts";

/** Options of {@link basicAuth}. */
export interface BasicAuthOptions {
  /** The accepted `[user, password]` pairs (a user name cannot contain ":", RFC 7617 §2). */
  credentials: readonly (readonly [string, string])[];
  /** The protection space's name, shown by browsers. @default {"tcp-http"} */
  realm?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Whether two 32-byte digests are equal, looking at every byte whatever they hold. */
function sameDigest(a: Uint8Array, b: Uint8Array): number {
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i];
  return diff === 0 ? 1 : 0;
}

/**
 * The user and password of an `Authorization: Basic …` field value, or null when it is not one
 * (another scheme, bad base64, no colon, not UTF-8). The scheme is case-insensitive (RFC 9110
 * §11.1); the password may contain colons, the user name cannot.
 *
 * @example
 * ```ts
 * import { parseBasic } from "./auth.ts";
 * parseBasic("Basic " + btoa("alice:s3:cret")); // ["alice", "s3:cret"]
 * parseBasic("Bearer x"); // null
 * ```
 */
export function parseBasic(header: string | null): [string, string] | null {
  if (header === null) return null;
  const match = /^[ \t]*basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (match === null) return null;
  let text: string;
  try {
    text = decoder.decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  return colon < 0 ? null : [text.slice(0, colon), text.slice(colon + 1)];
}

/** A realm as a quoted-string (RFC 9110 §5.6.4): `"` and `\` escaped. */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Wraps `handler` so only requests with one of `options.credentials` reach it. A CORS preflight
 * (OPTIONS with `Access-Control-Request-Method`) passes: browsers never send credentials with
 * one, and would otherwise refuse the real request.
 *
 * @example
 * ```ts
 * import { basicAuth } from "./auth.ts";
 * const handler = basicAuth(() => new Response("secret"), { credentials: [["alice", "pw"]] });
 * const response = await handler(new Request("http://x/"), {} as Deno.ServeHandlerInfo);
 * response.status; // 401
 * ```
 */
export function basicAuth(handler: Handler, options: BasicAuthOptions): Handler {
  if (options.credentials.length === 0) throw new TypeError("basicAuth needs credentials");
  for (const [user] of options.credentials) {
    if (user.includes(":")) throw new TypeError("a Basic auth user name cannot contain ':'");
  }
  const expected = Promise.all(
    options.credentials.map(async (
      [user, password],
    ) => [await digest(user), await digest(password)]),
  );
  const challenge = `Basic realm=${quoted(options.realm ?? "tcp-http")}, charset="UTF-8"`;
  return async (request, info) => {
    if (request.method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      return handler(request, info);
    }
    const given = parseBasic(request.headers.get("authorization"));
    let ok = 0;
    // Without credentials the digests of "" are still compared, so that costs the same too.
    const [user, password] = await Promise.all([
      digest(given?.[0] ?? ""),
      digest(given?.[1] ?? ""),
    ]);
    for (const [u, p] of await expected) ok |= sameDigest(user, u) & sameDigest(password, p);
    if (given !== null && ok === 1) return handler(request, info);
    // Drain nothing: the engine discards an unread body (or closes the connection).
    return new Response("401 Unauthorized\n", {
      status: 401,
      headers: {
        "www-authenticate": challenge,
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
      },
    });
  };
}
