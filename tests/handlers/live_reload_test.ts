/**
 * Live reload's endpoint (handlers/live_reload.ts) on our server: pages connect by WebSocket,
 * hear "css" when only stylesheets changed and "reload" otherwise; plain requests get 426; the
 * server's shutdown closes the sockets.
 */
import assert from "node:assert/strict";
import { LIVE_RELOAD_PATH, LiveReload, withLiveReload } from "../../lib/handlers/live_reload.ts";
import { serve, upgradeWebSocket } from "../../lib/mod.ts";
import { until, within } from "../_spawn.ts";

Deno.test("live reload: pages hear css for stylesheets, reload for anything else", async () => {
  const live = new LiveReload({ upgrade: (request) => upgradeWebSocket(request) });
  assert.ok(live.snippet.startsWith("<script>") && live.snippet.endsWith("</script>"));
  assert.ok(live.snippet.includes(JSON.stringify(LIVE_RELOAD_PATH)));
  const server = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    withLiveReload(live, () => new Response("page")),
  );
  const base = `127.0.0.1:${server.addr.port}`;
  try {
    const plain = await fetch(`http://${base}${LIVE_RELOAD_PATH}`);
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
    const other = await fetch(`http://${base}/index.html`);
    assert.equal(await other.text(), "page", "other paths reach the handler");

    const messages: string[] = [];
    const clients = [0, 1].map(() => new WebSocket(`ws://${base}${LIVE_RELOAD_PATH}`));
    const closed = clients.map((ws) =>
      new Promise<number>((resolve) => ws.onclose = (event) => resolve(event.code))
    );
    for (const ws of clients) ws.onmessage = (event) => messages.push(event.data);
    await within(
      Promise.all(clients.map((ws) => new Promise((resolve) => ws.onopen = resolve))),
      5000,
      "open",
    );
    await until(() => live.clients === 2, 2000, "both pages counted");

    live.changed(["/css/site.css", "/css/site.css", "/a b.CSS"]);
    await until(() => messages.length === 2, 2000, "css message");
    assert.deepEqual(JSON.parse(messages[0]), { css: ["/css/site.css", "/a b.CSS"] });
    live.changed(["/css/site.css", "/index.html"]);
    await until(() => messages.length === 4, 2000, "reload message");
    assert.deepEqual(JSON.parse(messages[3]), { reload: true });
    live.changed([]);

    await server.shutdown();
    assert.deepEqual(await within(Promise.all(closed), 5000, "close"), [1001, 1001]);
    await until(() => live.clients === 0, 2000, "pages forgotten");
  } finally {
    await server.shutdown();
    live.close();
  }
});
