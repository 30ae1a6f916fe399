import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { loadApp } from "../../lib/handlers/app.ts";
import type { ServeHandlerInfo } from "../../lib/shared/types.ts";

const info: ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
};
const ROUTER_URL = new URL("../../lib/handlers/router.ts", import.meta.url).href;

/** Runs `body` with a temp directory holding `files`; cleans up after. */
async function withFiles(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "app_test_" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function answer(handler: Awaited<ReturnType<typeof loadApp>>, path = "/") {
  const response = await handler(new Request(`http://localhost${path}`), info);
  return `${response.status} ${await response.text()}`;
}

Deno.test("loadApp loads a default export with fetch, by absolute path, relative path and file: URL", async () => {
  const app = `export default {
    name: "plain",
    fetch(request, info) {
      return new Response(this.name + " " + new URL(request.url).pathname + " " + info.remoteAddr.hostname);
    },
  };`;
  await withFiles({ "app.ts": app }, async (dir) => {
    const path = join(dir, "app.ts");
    for (const specifier of [path, relative(Deno.cwd(), path), pathToFileURL(path).href]) {
      const handler = await loadApp(specifier);
      assert.equal(await answer(handler, "/x"), "200 plain /x 127.0.0.1", specifier);
    }
  });
});

Deno.test("loadApp serves a Router exported as default, fetch bound", async () => {
  const app = `import { Router } from ${JSON.stringify(ROUTER_URL)};
    export default new Router().get("/hi/:name", (_req, { params }) => new Response("hi " + params.name));`;
  await withFiles({ "router_app.ts": app }, async (dir) => {
    const handler = await loadApp(join(dir, "router_app.ts"));
    assert.equal(await answer(handler, "/hi/ada"), "200 hi ada");
    assert.equal(await answer(handler, "/nope"), "404 Not Found\n");
  });
});

Deno.test("loadApp explains what is wrong in one line", async () => {
  await withFiles({
    "no_default.ts": "export const fetch = () => new Response();",
    "no_fetch.ts": "export default { handler() {} };",
    "null_default.ts": "export default null;",
    "broken.ts": "export default {{{",
    "throws.ts": "throw new Error('top-level failure\\nsecond line');",
  }, async (dir) => {
    const cases: [string, RegExp][] = [
      [join(dir, "missing.ts"), /^app not found: .*missing\.ts$/],
      [dir, /is not a file$/],
      [join(dir, "no_default.ts"), /has no default export/],
      [join(dir, "no_fetch.ts"), /the default export has no fetch\(request, info\) method$/],
      [join(dir, "null_default.ts"), /the default export has no fetch/],
      // Deno's file:line:col stays in the one line, as a path.
      [
        join(dir, "broken.ts"),
        /^cannot load app .*broken\.ts: SyntaxError: .* at \/.*broken\.ts:1:\d+$/,
      ],
      [
        join(dir, "throws.ts"),
        /^cannot load app .*throws\.ts: .*top-level failure at \/.*throws\.ts:1:7$/,
      ],
      ["https://example.com/app.ts", /file path or a file: URL/],
    ];
    for (const [specifier, message] of cases) {
      await assert.rejects(loadApp(specifier), (error: Error) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, message, specifier);
        assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
        return true;
      });
    }
  });
});
