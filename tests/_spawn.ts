/**
 * Test helpers: run `server.ts` as a real process, wait for the URL it prints, watch its output,
 * and stop it with a signal, everything bounded in time. Also a few raw-socket helpers shared by
 * the process and library tests, and a check for an external command (openssl, curl, nginx).
 *
 * @module
 */

import assert from "node:assert/strict";

/** The CLI entry point. */
export const SERVER = new URL("../server.ts", import.meta.url).pathname;
/** The repository root: the CLI runs from here so it finds deno.json. */
export const ROOT = new URL("..", import.meta.url).pathname;
/** Small `--app` modules used by the process tests. */
export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

const DEFAULT_PERMISSIONS = ["--allow-net", "--allow-read"];

/**
 * When the suite runs with TCP_HTTP_PUBLIC_API=1 (CI's second run), the servers it starts run on
 * the public API too: they may read that one variable.
 */
export function publicApiSwitch(): string[] {
  return Deno.env.get("TCP_HTTP_PUBLIC_API") === "1" ? ["--allow-env=TCP_HTTP_PUBLIC_API"] : [];
}

/** What a finished server process left behind. */
export interface ProcessResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** A running `server.ts` whose output is collected as it comes. */
export class ServerProcess {
  readonly child: Deno.ChildProcess;
  /** The URL the server printed (set by {@link spawnServer}). */
  url = "";
  stdout = "";
  stderr = "";
  readonly #waiters = new Set<() => void>();
  readonly #pumps: Promise<void>;
  #result: Promise<ProcessResult> | null = null;

  constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#pumps = Promise.all([
      this.#pump(child.stdout, (text) => this.stdout += text),
      this.#pump(child.stderr, (text) => this.stderr += text),
    ]).then(() => {});
  }

  async #pump(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      append(text);
      for (const wake of this.#waiters) wake();
    }
    for (const wake of this.#waiters) wake();
  }

  /** The port from the printed URL. */
  get port(): number {
    return Number(new URL(this.url).port);
  }

  /**
   * Waits until `pattern` shows up in stdout or stderr; fails after `timeoutMs` (or as soon as
   * the process has ended without printing it).
   */
  waitFor(
    where: "stdout" | "stderr",
    pattern: RegExp,
    timeoutMs = 10_000,
  ): Promise<RegExpExecArray> {
    const { promise, resolve, reject } = Promise.withResolvers<RegExpExecArray>();
    let ended = false;
    const check = () => {
      const match = pattern.exec(this[where]);
      if (match) finish(() => resolve(match));
      else if (ended) {
        finish(() => reject(new Error(`${where} never showed ${pattern}; ${this.#describe()}`)));
      }
    };
    const timer = setTimeout(() => {
      finish(() =>
        reject(new Error(`timed out waiting for ${pattern} on ${where}; ${this.#describe()}`))
      );
    }, timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      this.#waiters.delete(check);
      settle();
    };
    this.#waiters.add(check);
    this.#pumps.then(() => {
      ended = true;
      if (this.#waiters.has(check)) check();
    });
    check();
    return promise;
  }

  #describe(): string {
    return `stdout: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)}`;
  }

  /** Sends a signal to this process (and only it). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.child.kill(signal);
    } catch {
      // It has already exited.
    }
  }

  /** Waits for the process to end, at most `timeoutMs`; past it, SIGKILL and fail. */
  wait(timeoutMs = 15_000): Promise<ProcessResult> {
    this.#result ??= this.#collect();
    const result = this.#result;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill("SIGKILL");
        // Let the pumps finish so nothing leaks, then fail.
        result.finally(() =>
          reject(new Error(`the server did not exit within ${timeoutMs} ms; ${this.#describe()}`))
        );
      }, timeoutMs);
    });
    return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
  }

  async #collect(): Promise<ProcessResult> {
    const status = await this.child.status;
    await this.#pumps;
    return {
      code: status.code,
      signal: status.signal,
      stdout: this.stdout,
      stderr: this.stderr,
    };
  }

  /** Sends `signal`, then waits for the exit (bounded). */
  stop(signal: Deno.Signal = "SIGTERM", timeoutMs = 15_000): Promise<ProcessResult> {
    this.kill(signal);
    return this.wait(timeoutMs);
  }
}

/** Options for spawning the CLI. */
export interface SpawnOptions {
  /** Deno permission flags. @default {["--allow-net", "--allow-read"]} */
  permissions?: string[];
  /** How long the server may take to print its URL. @default {20000} */
  startTimeout?: number;
}

/** `deno run <permissions> server.ts args…` from the repository root, its output piped. */
function serverCommand(args: string[], options: SpawnOptions): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...publicApiSwitch(),
      ...(options.permissions ?? DEFAULT_PERMISSIONS),
      SERVER,
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Starts `server.ts args…` and waits for the http(s) URL it prints. */
export async function spawnServer(
  args: string[],
  options: SpawnOptions = {},
): Promise<ServerProcess> {
  const child = serverCommand(args, options).spawn();
  const server = new ServerProcess(child);
  try {
    const match = await server.waitFor(
      "stdout",
      /(https?:\/\/\S+\/)/,
      options.startTimeout ?? 20_000,
    );
    server.url = match[1];
  } catch (error) {
    server.kill("SIGKILL");
    await server.wait().catch(() => {});
    throw error;
  }
  return server;
}

/** Runs `server.ts args…` to its end (bounded) and returns what it printed. */
export async function runServer(
  args: string[],
  options: SpawnOptions & { timeout?: number } = {},
): Promise<ProcessResult> {
  const child = serverCommand(args, options).spawn();
  return await new ServerProcess(child).wait(options.timeout ?? 20_000);
}

/** Whether `command args…` runs and succeeds (false when it is not installed). */
export async function canRun(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false; // not installed
  }
}

/** Resolves with `promise`, or rejects with a message naming `what` after `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function until(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until the peer closes; resolves with everything read (errors count as the end). */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  let size = 0;
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      break;
    }
    if (n === null) break;
    parts.push(buf.slice(0, n));
    size += n;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A parsed HTTP/1.1 response read to the end of the connection (Content-Length framed). */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Parses the first response in `bytes` (Content-Length or close-delimited). */
export function parseResponse(bytes: Uint8Array): RawResponse {
  const text = decoder.decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `a response head in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  let body = text.slice(end + 4);
  const length = headers.get("content-length");
  if (length !== null) body = body.slice(0, Number(length));
  return { status, headers, body };
}

/** One request on a fresh connection that the client asks to close; bounded. */
export async function rawRequest(
  port: number,
  request: string,
  timeoutMs = 5_000,
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const exchange = (async () => {
      await conn.write(encoder.encode(request));
      return parseResponse(await readAll(conn));
    })();
    return await within(exchange, timeoutMs, `request to 127.0.0.1:${port}`);
  } finally {
    conn.close();
  }
}

/** `GET path` on a fresh connection with `Connection: close`; bounded. */
export function get(port: number, path = "/", timeoutMs = 5_000): Promise<RawResponse> {
  return rawRequest(
    port,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    timeoutMs,
  );
}
