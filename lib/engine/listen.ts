/**
 * Opening the listening sockets. `localhost` is both loopback addresses: a browser resolves it to
 * `::1` or `127.0.0.1` and may try either first, so a server on one of them alone can look down.
 * Every other host name is one socket, as `Deno.listen` opens it.
 *
 * @module
 */

import { listenTls } from "./tls_listener.ts";

/** What one listening socket needs. */
export interface ListenSpec {
  hostname: string;
  port: number;
  reusePort?: boolean;
  /**
   * HTTPS: the PEM certificate chain and key, the ALPN protocols to offer, and how long (ms) a
   * client may take to complete its handshake (see tls_listener.ts).
   */
  tls?: { cert: string; key: string; alpnProtocols: string[]; handshakeTimeout: number };
}

/** Random ports tried when `::1` already has the one `127.0.0.1` was given. */
const PORT_ATTEMPTS = 8;

/**
 * The listeners for `spec`: for `localhost`, `127.0.0.1` and `::1` on the same port (only the
 * first where the machine has no IPv6 loopback, or the permission names `localhost` alone);
 * otherwise one. Throws what `Deno.listen` throws.
 */
export function listenAll(spec: ListenSpec): Deno.Listener[] {
  if (spec.hostname !== "localhost") return [listenOne(spec, spec.hostname, spec.port)];
  for (let attempt = 1;; attempt++) {
    let first: Deno.Listener;
    try {
      first = listenOne(spec, "127.0.0.1", spec.port);
    } catch (error) {
      // `--allow-net=localhost` does not cover 127.0.0.1 by name: listen as before.
      if (error instanceof Deno.errors.NotCapable) return [listenOne(spec, "localhost", spec.port)];
      throw error;
    }
    const port = (first.addr as Deno.NetAddr).port;
    try {
      return [first, listenOne(spec, "::1", port)];
    } catch (error) {
      if (error instanceof Deno.errors.AddrInUse) {
        first.close();
        // A free port picked for 127.0.0.1 may be taken on ::1: pick again.
        if (spec.port === 0 && attempt < PORT_ATTEMPTS) continue;
        throw error;
      }
      // No IPv6 loopback here (or no permission for it): 127.0.0.1 alone, as before.
      return [first];
    }
  }
}

function listenOne(spec: ListenSpec, hostname: string, port: number): Deno.Listener {
  if (spec.tls === undefined) return Deno.listen({ hostname, port, reusePort: spec.reusePort });
  // Not Deno.listenTls: its connections keep their sockets while a handshake stalls.
  return listenTls({ hostname, port, reusePort: spec.reusePort, ...spec.tls });
}
