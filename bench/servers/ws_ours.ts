/**
 * WebSocket echo on our server, for bench/websocket.ts: `deno run servers/ws_ours.ts PORT`.
 * The handler is the one a `Deno.serve` app would have (Deno.upgradeWebSocket, echo in
 * onmessage): it runs on ours through the wrapper the server installs. permessage-deflate is
 * agreed when the client offers it.
 *
 * @module
 */

import { serve } from "../../lib/mod.ts";
import { exitOnSignals, parseServerArgs } from "./args.ts";
import { echo } from "./ws_deno_serve.ts";

const { port } = parseServerArgs(Deno.args);
exitOnSignals();
serve({ hostname: "127.0.0.1", port, onListen() {} }, echo);
