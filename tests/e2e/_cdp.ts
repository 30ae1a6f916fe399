/**
 * Headless Chromium driven over the DevTools protocol: started with `--remote-debugging-port=0`
 * (the port it picked is read from its stderr), a page opened at a URL, and that page's
 * `Runtime.evaluate`, `Emulation` and `Page.captureScreenshot` called over a WebSocket. Enough
 * for tests that look at what a real browser shows; everything is bounded in time.
 *
 * @module
 */

/** The Chromium on PATH, or undefined (tests skip with the reason). */
export const chromium: string | undefined = ["chromium", "chromium-browser", "google-chrome"]
  .find((name) => {
    try {
      return new Deno.Command("which", { args: [name], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });

/** One page of a running headless Chromium. */
export class Browser {
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (message: Record<string, unknown>) => void>();

  private constructor(child: Deno.ChildProcess, profile: string, socket: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.#pending.get(message.id)?.(message);
      this.#pending.delete(message.id);
    };
  }

  /** Starts Chromium on `url` and connects to that page. */
  static async open(url: string, timeoutMs = 20_000): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "cdp-profile-" });
    const child = new Deno.Command(chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--window-size=900,640",
        "--remote-debugging-port=0",
        "--remote-allow-origins=*",
        `--user-data-dir=${profile}`,
        url,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const deadline = Date.now() + timeoutMs;
    try {
      // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…"
      let text = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let port: string | undefined;
      while (port === undefined) {
        const { value, done } = await timed(reader.read(), deadline, "DevTools port");
        if (done) throw new Error(`chromium exited: ${text.slice(-500)}`);
        text += value;
        port = /DevTools listening on ws:\/\/[^:]+:(\d+)\//.exec(text)?.[1];
      }
      // Keep draining stderr so Chromium never blocks on it.
      (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
      let page: { webSocketDebuggerUrl: string } | undefined;
      while (page === undefined) {
        const list = await timed(
          fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json()),
          deadline,
          "page target",
        );
        page = list.find((t: { type: string }) => t.type === "page");
        if (page === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      const socket = new WebSocket(page.webSocketDebuggerUrl);
      await timed(
        new Promise((resolve, reject) => {
          socket.onopen = resolve;
          socket.onerror = reject;
        }),
        deadline,
        "DevTools socket",
      );
      return new Browser(child, profile, socket);
    } catch (error) {
      child.kill("SIGKILL");
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Calls a DevTools method and returns its result (throws its error). */
  // deno-lint-ignore no-explicit-any
  async send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<Record<string, unknown>>();
    this.#pending.set(id, resolve);
    this.#socket.send(JSON.stringify({ id, method, params }));
    const message = await timed(promise, Date.now() + 10_000, method);
    if (message.error) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
    return message.result;
  }

  /** The value of a JavaScript expression in the page (undefined while it is navigating). */
  async evaluate(expression: string): Promise<unknown> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true });
    return result.exceptionDetails ? undefined : result.result.value;
  }

  /** Polls `expression` until it is truthy; fails with `what` after `timeoutMs`. */
  async waitFor(expression: string, what: string, timeoutMs = 10_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.evaluate(expression).catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A PNG of the page as it is shown now. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" });
    return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  }

  async close(): Promise<void> {
    try {
      this.#socket.close();
    } catch {
      // closed already
    }
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

function timed<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`chromium: no ${what} in time`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
