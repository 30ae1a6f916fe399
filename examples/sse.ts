/**
 * Server-sent events: `/events` streams a `tick` event every 100 ms for as long as the client
 * listens, and `/` is a page that shows them. When the client goes away the engine's next write
 * fails, it cancels the response body, and the stream's `cancel()` stops the timer.
 *
 *     deno run --allow-net examples/sse.ts [--port 8000]
 *
 *     curl -N localhost:8000/events      # ^C it and watch the server log
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";
import { Router } from "../lib/handlers/router.ts";

/**
 * Options for {@link createSseApp}.
 *
 * @example
 * ```ts
 * import type { SseOptions } from "./sse.ts";
 * const options: SseOptions = { intervalMs: 1000, log: () => {} };
 * ```
 */
export interface SseOptions {
  /** Time between events. @default {100} */
  intervalMs?: number;
  /** Where disconnects are reported. @default console.log */
  log?: (message: string) => void;
}

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Server-sent events</title></head>
<body>
  <h1>Ticks from the server</h1>
  <ol id="ticks"></ol>
  <script>
    const ticks = document.getElementById("ticks");
    new EventSource("/events").addEventListener("tick", (event) => {
      const item = document.createElement("li");
      item.textContent = event.data;
      ticks.prepend(item);
    });
  </script>
</body>
</html>
`;

const encoder = new TextEncoder();

/** One event in the `text/event-stream` format. */
function tick(n: number): Uint8Array {
  const data = JSON.stringify({ n, time: new Date().toISOString() });
  return encoder.encode(`id: ${n}\nevent: tick\ndata: ${data}\n\n`);
}

/** A never-ending event stream; `cancel()` runs when the client disconnects. */
function eventStream(intervalMs: number, log: (message: string) => void): ReadableStream {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`retry: 1000\n\n`));
    },
    // Pull, not setInterval: the next event waits until the last one was taken, so a slow
    // client is not buried under a growing queue.
    pull(controller) {
      return new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          controller.enqueue(tick(++sent));
          resolve();
        }, intervalMs);
      });
    },
    cancel() {
      clearTimeout(timer);
      log(`sse: client disconnected after ${sent} events; timer stopped`);
    },
  }, { highWaterMark: 0 });
}

/**
 * Builds the example: `GET /` (the page) and `GET /events` (the stream).
 *
 * @example
 * ```ts
 * import { createSseApp } from "./sse.ts";
 * import { serve } from "../lib/mod.ts";
 * serve({ port: 8000 }, createSseApp({ intervalMs: 1000 }).fetch);
 * ```
 */
export function createSseApp(options: SseOptions = {}): Router {
  const { intervalMs = 100, log = console.log } = options;
  return new Router()
    .get("/", () => new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } }))
    .get("/events", () =>
      new Response(eventStream(intervalMs, log), {
        headers: {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
        },
      }));
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string", default: "8000" } } });
  serve({ port: Number(values.port) }, createSseApp().fetch);
}
