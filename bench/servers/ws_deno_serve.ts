/**
 * WebSocket echo on `Deno.serve`, the baseline for bench/websocket.ts:
 * `deno run servers/ws_deno_serve.ts PORT`. `echo` is the handler both servers run.
 *
 * @module
 */

import { exitOnSignals, parseServerArgs } from "./args.ts";

/** Upgrades every request and sends every message back as it came. */
export function echo(request: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(request, { idleTimeout: 0 });
  socket.onmessage = (event) => socket.send(event.data);
  return response;
}

if (import.meta.main) {
  const { port } = parseServerArgs(Deno.args);
  exitOnSignals();
  Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, echo);
}
