/**
 * The facts about the machine a result needs beside it.
 *
 * @module
 */

import type { Machine } from "./results.ts";

/** CPU model, cores, kernel, Deno and wrk versions, and the date. */
export async function describeMachine(wrk: string): Promise<Machine> {
  const cpuinfo = await readOr("/proc/cpuinfo", "");
  return {
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    kernel: `${Deno.build.os} ${(await readOr("/proc/sys/kernel/osrelease", "")).trim()}`.trim(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    wrk,
    commit: await codeVersion(),
    loadAverage: (await readOr("/proc/loadavg", "")).split(" ").slice(0, 3).join(" "),
    date: new Date().toISOString(),
  };
}

/** "abc1234", or "abc1234 + uncommitted changes in lib/ or bench/"; "unknown" outside git. */
async function codeVersion(): Promise<string> {
  const git = async (...args: string[]) => {
    const root = new URL("..", import.meta.url).pathname;
    const { success, stdout } = await new Deno.Command("git", { args, cwd: root, stderr: "null" })
      .output();
    if (!success) throw new Error(`git ${args.join(" ")} failed`);
    return new TextDecoder().decode(stdout).trim();
  };
  try {
    const commit = await git("rev-parse", "--short", "HEAD");
    const dirty = await git("status", "--porcelain", "--", "lib", "bench");
    return dirty ? `${commit} + uncommitted changes in lib/ or bench/` : commit;
  } catch {
    return "unknown";
  }
}

async function readOr(path: string, fallback: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return fallback;
  }
}

/** The command line that started this run, as the user would type it again. */
export function commandLine(args: string[]): string {
  // `deno task` sets these for the processes it starts; a plain `deno run` does not.
  const viaTask = Deno.env.get("npm_config_user_agent")?.startsWith("deno/") &&
    Deno.env.has("INIT_CWD");
  const base = viaTask ? "deno task bench" : "deno run --allow-all bench/run.ts";
  return [base, ...args.map(quote)].join(" ");
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
