/**
 * Live reload for a dev server: a reserved endpoint that browsers keep a WebSocket open to, the
 * small script that opens it (served HTML gets it injected: serveDir's `htmlSnippet`), and
 * {@link LiveReload.changed}, which the file watcher calls with the URL paths that changed. When
 * every changed path is a stylesheet, pages swap their matching `<link rel=stylesheet>` in place
 * (a new link with a cache-busting query, the old one removed once it has loaded: no reload, no
 * flash, the page's state kept); anything else reloads the page. A page that loses the socket
 * (the server restarted) tries again with backoff and reloads once it is back.
 *
 * Why a WebSocket and not server-sent events: over HTTP/1.1 a browser opens at most six
 * connections to one host, and an `EventSource` holds one for as long as the page is open, so six
 * tabs of a site would stall its next page load; WebSockets do not count against that limit. And
 * the engine closes WebSockets with 1001 when it shuts down, where an endless SSE response would
 * hold a graceful shutdown for its whole grace period. The upgrade function is passed in (the CLI
 * passes the engine's `upgradeWebSocket`; under `Deno.serve`, `Deno.upgradeWebSocket` is the
 * default), so this module does not import the engine.
 *
 * @module
 */

import type { Handler } from "../shared/types.ts";

/** The endpoint the injected script connects to; requests for it never reach the files. */
export const LIVE_RELOAD_PATH = "/__tcp_http/live-reload";

/** Options of {@link LiveReload}. */
export interface LiveReloadOptions {
  /** Turns a request into `{ socket, response }`. @default {Deno.upgradeWebSocket} */
  upgrade?: (request: Request) => { socket: WebSocket; response: Response };
  /** The endpoint's path. @default {LIVE_RELOAD_PATH} */
  path?: string;
}

/** The browser side: connect, swap stylesheets or reload on a message, reconnect with backoff. */
function clientScript(path: string): string {
  return `<script>(() => {
  const path = ${JSON.stringify(path)};
  let opened = false, retries = 0;
  const sameOrigin = (link) => {
    try { return new URL(link.href, location.href).origin === location.origin; } catch { return false; }
  };
  const pathOf = (link) => decodeURIComponent(new URL(link.href, location.href).pathname);
  const swap = (paths) => {
    const links = [...document.querySelectorAll('link[rel~="stylesheet"]')].filter(sameOrigin);
    const named = links.filter((link) => paths.includes(pathOf(link)));
    for (const link of named.length > 0 ? named : links) {
      const url = new URL(link.href, location.href);
      url.searchParams.set("livereload", String(Date.now()));
      const next = link.cloneNode();
      next.href = url.href;
      next.onload = next.onerror = () => link.remove();
      link.after(next);
    }
  };
  const connect = () => {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
    ws.onopen = () => {
      if (opened && retries > 0) location.reload();
      opened = true;
      retries = 0;
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.css) swap(message.css); else location.reload();
    };
    ws.onclose = () => setTimeout(connect, Math.min(5000, 250 * 2 ** retries++));
  };
  connect();
})();</script>`;
}

/** The script's stylesheets: what {@link LiveReload.changed} swaps in place. */
const STYLESHEET = /\.css$/i;

/**
 * The live-reload endpoint and its connected pages.
 *
 * @example
 * ```ts ignore
 * import { serve, serveDir, upgradeWebSocket } from "../mod.ts";
 * import { LiveReload } from "./live_reload.ts";
 * const live = new LiveReload({ upgrade: upgradeWebSocket });
 * serve({ port: 8080 }, (request) =>
 *   live.handle(request) ?? serveDir(request, { fsRoot: "site", htmlSnippet: live.snippet }));
 * for await (const event of Deno.watchFs("site")) live.changed(["/index.html"]);
 * ```
 */
export class LiveReload {
  /** The endpoint's path. */
  readonly path: string;
  /** The `<script>` to inject into HTML (serveDir's `htmlSnippet`). */
  readonly snippet: string;
  readonly #upgrade: (request: Request) => { socket: WebSocket; response: Response };
  readonly #sockets = new Set<WebSocket>();

  /** A live-reload endpoint at `options.path`, upgrading with `options.upgrade`. */
  constructor(options: LiveReloadOptions = {}) {
    this.path = options.path ?? LIVE_RELOAD_PATH;
    this.snippet = clientScript(this.path);
    this.#upgrade = options.upgrade ?? ((request) => Deno.upgradeWebSocket(request));
  }

  /** Pages connected now. */
  get clients(): number {
    return this.#sockets.size;
  }

  /**
   * The endpoint's answer: a WebSocket upgrade (426 for anything else); null for any other path,
   * which the caller serves as usual.
   */
  handle(request: Request): Response | null {
    if (new URL(request.url).pathname !== this.path) return null;
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("426 Upgrade Required: this is the live-reload WebSocket\n", {
        status: 426,
        headers: { upgrade: "websocket", "content-type": "text/plain; charset=utf-8" },
      });
    }
    let upgraded;
    try {
      upgraded = this.#upgrade(request);
    } catch (error) {
      return new Response(`400 Bad Request: ${(error as Error).message}\n`, { status: 400 });
    }
    const { socket, response } = upgraded;
    socket.onopen = () => this.#sockets.add(socket);
    socket.onclose = () => this.#sockets.delete(socket);
    socket.onerror = () => this.#sockets.delete(socket);
    return response;
  }

  /**
   * Tells every page that files changed (`paths`: URL paths, decoded). Only stylesheets: they are
   * swapped in place; anything else: the page reloads. Nothing for an empty list.
   */
  changed(paths: readonly string[]): void {
    if (paths.length === 0) return;
    const css = paths.every((path) => STYLESHEET.test(path));
    const message = JSON.stringify(css ? { css: [...new Set(paths)] } : { reload: true });
    for (const socket of this.#sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.send(message);
    }
  }

  /** Closes every page's socket (1001, going away); they will try to reconnect. */
  close(): void {
    for (const socket of this.#sockets) socket.close(1001, "live reload stopped");
    this.#sockets.clear();
  }
}

/**
 * `handler` with `live`'s endpoint in front of it.
 *
 * @example
 * ```ts ignore
 * import { LiveReload, withLiveReload } from "./live_reload.ts";
 * const live = new LiveReload();
 * const handler = withLiveReload(live, () => new Response("hi"));
 * ```
 */
export function withLiveReload(live: LiveReload, handler: Handler): Handler {
  return (request, info) => live.handle(request) ?? handler(request, info);
}
