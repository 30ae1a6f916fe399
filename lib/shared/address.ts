/**
 * Socket addresses as text: IPv6 literals go in brackets wherever a port follows (RFC 3986
 * §3.2.2), in a Host value and in a URL alike.
 *
 * @module
 */

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** The URL a person would type to reach `addr`. */
export function urlOf(addr: Deno.NetAddr, tls = false): string {
  return `${tls ? "https" : "http"}://${hostPort(addr.hostname, addr.port)}/`;
}
