/**
 * A chat room over WebSocket: `/` is the page, `/ws?name=…` the socket. Every message goes to
 * everyone in the room; newcomers get the last 50. The handler is written as for `Deno.serve`
 * (`Deno.upgradeWebSocket`), so the same code runs there unchanged.
 *
 *     deno run --allow-net examples/chat.ts [--port 8000]
 *
 * Open http://localhost:8000/ in two browser tabs. A client that stops reading (its socket's
 * `bufferedAmount` passes 1 MiB) misses messages instead of making the server hold them.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";
import { Router } from "../lib/handlers/router.ts";

/** One line of the room's history, as sent to the browsers. */
export interface ChatLine {
  /** "message", or "join" / "leave" notices. */
  kind: "message" | "join" | "leave";
  from: string;
  text: string;
  time: string;
}

/**
 * Options for {@link createChatApp}.
 *
 * @example
 * ```ts
 * import type { ChatOptions } from "./chat.ts";
 * const options: ChatOptions = { history: 10 };
 * ```
 */
export interface ChatOptions {
  /** Lines a newcomer is sent. @default {50} */
  history?: number;
}

/** Longest message accepted, in characters; the socket refuses bigger frames (1009). */
const MAX_TEXT = 2000;
/** A client with this much unsent is skipped until it catches up. */
const SLOW_CLIENT = 1024 * 1024;

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Chat</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  #log { list-style: none; padding: 0; height: 60vh; overflow-y: auto; border: 1px solid #ccc; }
  #log li { padding: .2rem .5rem; } #log .notice { color: #777; font-style: italic; }
  form { display: flex; gap: .5rem; } #text { flex: 1; }
</style></head>
<body>
  <h1>Chat</h1>
  <ul id="log"></ul>
  <form id="form"><input id="text" autocomplete="off" placeholder="Say something" maxlength="${MAX_TEXT}">
  <button>Send</button></form>
  <script>
    const log = document.getElementById("log");
    const name = prompt("Your name?") || "guest" + Math.floor(Math.random() * 1000);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(scheme + "://" + location.host + "/ws?name=" + encodeURIComponent(name));
    const show = (line) => {
      const item = document.createElement("li");
      if (line.kind === "message") item.textContent = line.from + ": " + line.text;
      else {
        item.className = "notice";
        item.textContent = line.from + (line.kind === "join" ? " joined" : " left");
      }
      log.append(item);
      log.scrollTop = log.scrollHeight;
    };
    socket.onmessage = (event) => show(JSON.parse(event.data));
    socket.onclose = (event) => show({ kind: "leave", from: "you (" + event.code + ")" });
    document.getElementById("form").onsubmit = (event) => {
      event.preventDefault();
      const input = document.getElementById("text");
      if (input.value && socket.readyState === WebSocket.OPEN) socket.send(input.value);
      input.value = "";
    };
  </script>
</body>
</html>
`;

/**
 * Builds the chat: `GET /` (the page) and `GET /ws?name=…` (the room).
 *
 * @example
 * ```ts
 * import { createChatApp } from "./chat.ts";
 * import { serve } from "../lib/mod.ts";
 * serve({ port: 8000 }, createChatApp().fetch);
 * ```
 */
export function createChatApp(options: ChatOptions = {}): Router {
  const keep = options.history ?? 50;
  const members = new Set<WebSocket>();
  const history: string[] = [];

  const broadcast = (line: ChatLine) => {
    const text = JSON.stringify(line);
    history.push(text);
    if (history.length > keep) history.shift();
    for (const member of members) {
      if (member.readyState === WebSocket.OPEN && member.bufferedAmount < SLOW_CLIENT) {
        member.send(text);
      }
    }
  };
  const line = (kind: ChatLine["kind"], from: string, text = ""): ChatLine => ({
    kind,
    from,
    text,
    time: new Date().toISOString(),
  });

  return new Router()
    .get("/", () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }))
    .get("/ws", (request) => {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return new Response("this is a WebSocket endpoint\n", { status: 426 });
      }
      const name = (new URL(request.url).searchParams.get("name") ?? "").trim().slice(0, 40) ||
        "guest";
      // `maxMessageSize` is ours (Deno's own ignores it): 4 bytes per character at most.
      const { socket, response } = Deno.upgradeWebSocket(request, {
        maxMessageSize: MAX_TEXT * 4,
      } as Deno.UpgradeWebSocketOptions);
      socket.onopen = () => {
        for (const text of history) socket.send(text);
        members.add(socket);
        broadcast(line("join", name));
      };
      socket.onmessage = (event) => {
        if (typeof event.data !== "string") return socket.close(1003, "text only");
        const text = event.data.trim().slice(0, MAX_TEXT);
        if (text !== "") broadcast(line("message", name, text));
      };
      socket.onclose = () => {
        if (members.delete(socket)) broadcast(line("leave", name));
      };
      return response;
    });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8000" } } });
  serve({ port: Number(values.port) }, createChatApp().fetch);
}
