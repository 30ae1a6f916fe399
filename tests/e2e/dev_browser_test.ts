/**
 * The dev server in a real browser (headless Chromium over the DevTools protocol, tests/e2e/
 * _cdp.ts), against `server.ts` run as a process:
 * - `--watch`: a stylesheet edit is applied in place (a variable the page set survives: no
 *   reload), and an HTML edit shows in the DOM (the page reloaded).
 * - The listing in light and dark (`prefers-color-scheme` emulated): its colours follow, and the
 *   sort links work. With LISTING_SCREENSHOTS=DIR the two screenshots are written there.
 * Skipped, with the reason printed, when Chromium is missing.
 */
import assert from "node:assert/strict";
import { Browser, chromium } from "./_cdp.ts";
import { spawnServer } from "../_spawn.ts";

if (!chromium) {
  console.log("dev_browser_test: skipped: no chromium on PATH (apt-get install chromium)");
}

Deno.test({
  name: "browser: --watch swaps an edited stylesheet in place and reloads an edited page",
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "live-reload-browser-" });
    await Deno.writeTextFile(
      `${root}/index.html`,
      '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head>' +
        '<body><h1 id="title">first text</h1></body></html>\n',
    );
    await Deno.writeTextFile(`${root}/style.css`, "h1 { color: rgb(1, 2, 3); }\n");
    const server = await spawnServer(["-p", "0", "-q", "--watch", root]);
    let browser: Browser | undefined;
    try {
      browser = await Browser.open(server.url);
      const h1 = "document.getElementById('title')";
      await browser.waitFor(`${h1}?.textContent === 'first text'`, "the page");
      await browser.waitFor(
        `getComputedStyle(${h1}).color === 'rgb(1, 2, 3)'`,
        "the first stylesheet",
      );
      // The script's socket is open once the server has answered its upgrade; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await browser.evaluate("window.kept = 42");

      await Deno.writeTextFile(`${root}/style.css`, "h1 { color: rgb(4, 5, 6); }\n");
      await browser.waitFor(
        `getComputedStyle(${h1}).color === 'rgb(4, 5, 6)'`,
        "the edited stylesheet applied",
      );
      assert.equal(await browser.evaluate("window.kept"), 42, "no reload: the page kept its state");
      assert.equal(
        await browser.evaluate("document.querySelectorAll('link[rel=stylesheet]').length"),
        1,
        "the old link was removed",
      );

      await Deno.writeTextFile(
        `${root}/index.html`,
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="style.css"></head>' +
          '<body><h1 id="title">second text</h1></body></html>\n',
      );
      await browser.waitFor(`${h1}?.textContent === 'second text'`, "the edited page");
      assert.equal(await browser.evaluate("window.kept"), undefined, "the page reloaded");
      // The new page's text can be there before its stylesheet is: wait for that too.
      await browser.waitFor(
        `getComputedStyle(${h1}).color === 'rgb(4, 5, 6)'`,
        "the reloaded page's stylesheet",
      );
    } finally {
      await browser?.close();
      server.kill("SIGTERM");
      await server.wait();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "browser: the listing reads in light and dark, and its column heads sort",
  ignore: !chromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "listing-browser-" });
    await Deno.mkdir(`${root}/docs/guides`, { recursive: true });
    await Deno.mkdir(`${root}/docs/images`);
    const files: [string, number][] = [
      ["chapter1.md", 4200],
      ["chapter2.md", 18000],
      ["chapter10.md", 950],
      ["index.json", 120],
      ['<b>bold & "quotes".txt', 12],
      ["report 2026.pdf", 2_400_000],
    ];
    for (const [name, size] of files) {
      await Deno.writeFile(`${root}/docs/${name}`, new Uint8Array(size));
    }
    const server = await spawnServer(["-p", "0", "-q", "--upload", root], {
      permissions: ["--allow-net", "--allow-read", "--allow-write"],
    });
    let browser: Browser | undefined;
    const shots = Deno.env.get("LISTING_SCREENSHOTS");
    try {
      browser = await Browser.open(`${server.url}docs/`);
      await browser.waitFor("document.querySelector('footer')", "the listing");
      const names = () =>
        browser!.evaluate(
          "[...document.querySelectorAll('tbody tr:not(.up) td:first-child')].map((td) => td.textContent)",
        );
      assert.deepEqual(await names(), [
        "guides/",
        "images/",
        '<b>bold & "quotes".txt',
        "chapter1.md",
        "chapter2.md",
        "chapter10.md",
        "index.json",
        "report 2026.pdf",
      ]);
      assert.equal(
        await browser.evaluate("document.querySelectorAll('tbody b').length"),
        0,
        "a name is text, never markup",
      );
      const colors = "[getComputedStyle(document.body).backgroundColor, " +
        "getComputedStyle(document.body).color]";
      await browser.send("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: "light" }],
      });
      assert.deepEqual(await browser.evaluate(colors), ["rgb(255, 255, 255)", "rgb(31, 35, 40)"]);
      if (shots) await Deno.writeFile(`${shots}/listing-light.png`, await browser.screenshot());
      await browser.send("Emulation.setEmulatedMedia", {
        features: [{ name: "prefers-color-scheme", value: "dark" }],
      });
      assert.deepEqual(await browser.evaluate(colors), ["rgb(13, 17, 23)", "rgb(230, 237, 243)"]);
      if (shots) await Deno.writeFile(`${shots}/listing-dark.png`, await browser.screenshot());

      // Click "Size": largest last; click again: largest first.
      await browser.evaluate("document.querySelectorAll('th a')[1].click()");
      await browser.waitFor("location.search === '?sort=size&order=asc'", "sorted by size");
      await browser.waitFor("document.querySelector('footer')", "the sorted listing");
      assert.equal((await names() as string[]).at(-1), "report 2026.pdf");
      await browser.evaluate("document.querySelectorAll('th a')[1].click()");
      await browser.waitFor("location.search === '?sort=size&order=desc'", "reversed");
      await browser.waitFor("document.querySelector('footer')", "the reversed listing");
      assert.equal((await names() as string[])[2], "report 2026.pdf");
      // The breadcrumb back to the top.
      await browser.evaluate("document.querySelector('h1 a').click()");
      await browser.waitFor("location.pathname === '/' && document.querySelector('footer')", "/");
    } finally {
      await browser?.close();
      server.kill("SIGTERM");
      await server.wait();
      await Deno.remove(root, { recursive: true });
    }
  },
});
