/**
 * `deno task bench:workers [--duration S]`: what `--workers 2` gives on this machine. Starts the
 * CLI (demo site, no access log) with 1 and then 2 workers, drives each with the same wrk
 * keep-alive load, and prints requests per second and the ratio. Traffic goes to 127.0.0.1 only;
 * each server is stopped by its own process handle.
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { duration: { type: "string", default: "8" } },
});
const duration = Number(values.duration);
const server = new URL("../server.ts", import.meta.url).pathname;

async function wrk(url: string, seconds: number): Promise<number> {
  const output = await new Deno.Command("wrk", {
    args: ["-t1", "-c64", `-d${seconds}s`, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const match = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!match) throw new Error(`wrk printed no rate: ${text}`);
  return Number(match[1]);
}

async function measure(workers: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      server,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--quiet",
      "--workers",
      String(workers),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!/:(\d+)\//.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error("server exited before listening");
      text += value;
    }
    const url = `http://127.0.0.1:${/:(\d+)\//.exec(text)![1]}/`;
    await wrk(url, 2); // warm up every isolate's JIT
    return await wrk(url, duration);
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
    await child.status;
  }
}

try {
  await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
} catch {
  console.error("bench:workers needs wrk: apt-get install wrk");
  Deno.exit(1);
}

const one = await measure(1);
const two = await measure(2);
console.log(`cores: ${navigator.hardwareConcurrency}, wrk -t1 -c64 -d${duration}s, demo site "/"`);
console.log(`--workers 1: ${Math.round(one)} req/s`);
console.log(`--workers 2: ${Math.round(two)} req/s (${(two / one).toFixed(2)}x)`);
