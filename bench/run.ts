/**
 * The benchmark harness: `deno task bench [--quick] [--duration N] [--shapes a,b] [--servers a,b]
 * [--rounds N]`.
 *
 * For each server (ours, Deno.serve, the raw loop) it starts a process per mode the chosen
 * shapes need, checks it answers correctly, warms it up, and drives each shape with wrk while
 * reading the process's CPU time; the memory shape gets a fresh process and 2,000 idle
 * connections. With `--rounds N` it does all that N times, the servers' order rotating each
 * round, and reports the medians and their spread (bench/rounds.ts). Then it prints a table and
 * writes bench/RESULTS.md, bench/chart.svg and bench/out/latest.json. bench/README.md explains
 * the shapes and how to read the numbers.
 *
 * Only processes this harness started are ever stopped, on success, failure or Ctrl-C.
 *
 * @module
 */

import { renderChart } from "./chart.ts";
import * as fmt from "./format.ts";
import { getOnce } from "./http1.ts";
import { commandLine, describeMachine } from "./machine.ts";
import { measureIdleMemory } from "./memory.ts";
import { type Options, parseOptions, USAGE } from "./options.ts";
import {
  Children,
  clockTicksPerSecond,
  cpuTicks,
  delay,
  openFilesLimit,
  timeWaitSockets,
} from "./procs.ts";
import { addRatios, renderMarkdown, renderText } from "./report.ts";
import type { LoadRow, MemoryRow, Round, RunResults } from "./results.ts";
import { aggregateRounds, roundOrder } from "./rounds.ts";
import { type Profile, type RunningServer, startServer } from "./server.ts";
import {
  CONNECTIONS,
  IDLE_CONNECTIONS,
  type LoadShape,
  PIPELINE_DEPTH,
  SERVER_NAMES,
  SERVERS,
  type ServerSpec,
  SHAPE_NAMES,
  SHAPES,
  STATIC_FILES,
} from "./suite.ts";
import { runWrk, WRK_THREADS, type WrkLoad, wrkVersion } from "./wrk.ts";

const BENCH = new URL(".", import.meta.url);
const ROOT = new URL("..", BENCH);
/** File descriptors kept back from the memory shape, for everything else a process opens. */
const FD_HEADROOM = 100;
/** A pause between loads, so one's closing connections do not land in the next. */
const PAUSE_MS = 300;
/**
 * TIME_WAIT sockets left by earlier runs slow every new connection (connect and accept
 * measurably lose throughput as they pile up), so a new-connection shape waits for them to
 * expire down to this many; Linux keeps each one for 60 s, a little more is waited at most.
 */
const QUIET_TIME_WAIT = 1_000;
const QUIET_WAIT_MS = 65_000;
/** A 1-minute load average above this at the start means someone else is using the CPU. */
const BUSY_LOAD = 0.5;

/** Set on Ctrl-C (or SIGTERM): cleanup is under way, and what fails now is no news. */
let interrupted = false;
/** "round 2/3 " in progress lines when there are several rounds. */
let roundLabel = "";

/** Everything a run needs at hand. */
interface Context {
  options: Options;
  children: Children;
  /** The temporary directory holding the static files. */
  fsRoot: string;
  /** The run: its settings, and its notes. */
  results: RunResults;
  /** The round under way, which its rows go to. */
  round: Round;
}

async function main(): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(Deno.args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  const wrk = await wrkVersion();
  if (wrk === null) {
    console.error("wrk is not installed; on Debian or Ubuntu: apt-get install wrk");
    return 1;
  }

  const children = new Children();
  const fsRoot = await Deno.makeTempDir({ prefix: "tcp-http-bench-" });
  const cleanUp = async () => {
    await children.killAll();
    await Deno.remove(fsRoot, { recursive: true }).catch(() => {});
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.error("\ninterrupted: stopping the servers and wrk this run started");
    cleanUp().finally(() => Deno.exit(130));
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);

  try {
    const results: RunResults = {
      command: commandLine(Deno.args),
      machine: await describeMachine(wrk),
      settings: {
        seconds: options.seconds,
        warmupSeconds: options.warmupSeconds,
        wrkThreads: WRK_THREADS,
        connections: CONNECTIONS,
        pipelineDepth: PIPELINE_DEPTH,
        clockTicksPerSecond: await clockTicksPerSecond(),
        rounds: options.rounds,
        openFilesLimit: await openFilesLimit(),
      },
      load: [],
      memory: [],
      notes: [],
    };
    if (options.cpuProf) {
      results.notes.push("run under --cpu-prof: the numbers include the profiler's cost");
    }
    const load = Number(results.machine.loadAverage.split(" ")[0]);
    if (load > BUSY_LOAD) {
      console.error(
        `warning: the load average is ${load} before the run: something else is using the ` +
          "CPU, and the numbers will be noisy",
      );
    }
    await writeStaticFiles(fsRoot);
    const rounds: Round[] = [];
    for (let index = 0; index < options.rounds && !interrupted; index++) {
      const round: Round = {
        round: index + 1,
        order: roundOrder(options.servers, index),
        load: [],
        memory: [],
      };
      rounds.push(round);
      if (options.rounds > 1) {
        roundLabel = `round ${round.round}/${options.rounds} `;
        const order = round.order.map((name) => SERVERS[name].label).join(", ");
        console.error(`\nround ${round.round} of ${options.rounds}: ${order}`);
      }
      const context: Context = { options, children, fsRoot, results, round };
      for (const name of round.order) await benchServer(context, SERVERS[name]);
      sortRows(round);
      addRatios(round);
    }
    if (interrupted) return 130;

    if (rounds.length === 1) {
      // One round is the run, as it always was.
      results.load = rounds[0].load;
      results.memory = rounds[0].memory;
    } else {
      Object.assign(results, aggregateRounds(rounds));
      results.rounds = rounds;
    }
    sortRows(results);
    addRatios(results);
    console.log(`\n${renderText(results)}\n`);
    await writeOutputs(results, options.writeResults);
    if (options.cpuProf) {
      console.log(
        "profiles (.cpuprofile for Chrome DevTools, .md summary, .svg flamegraph): bench/out/profiles/",
      );
    }
    // A round that failed fails the run, even when the other rounds measured the row.
    const failed = rounds.flatMap((round) => [...round.load, ...round.memory])
      .some((row) => row.status === "failed");
    return failed ? 1 : 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
    await cleanUp();
  }
}

/** Runs every chosen shape against one server. */
async function benchServer(context: Context, spec: ServerSpec): Promise<void> {
  const { options, fsRoot, round } = context;
  // Shapes whose server process takes the same arguments share one process.
  const groups = new Map<string, { args: string[]; shapes: LoadShape[] }>();
  for (const name of options.shapes) {
    const shape = SHAPES[name];
    if (shape.kind !== "load") continue;
    const skip = await whySkip(spec, shape.mode === "files" ? "files" : "hello");
    const args = spec.args(shape.mode, fsRoot);
    if (skip !== null || !Array.isArray(args)) {
      const note = skip ?? (args as { skip: string }).skip;
      round.load.push({ shape: shape.name, server: spec.name, status: "skipped", note });
      progress(spec, shape.title, `skipped (${note})`);
      continue;
    }
    const key = JSON.stringify(args);
    const group = groups.get(key) ?? { args, shapes: [] };
    group.shapes.push(shape);
    groups.set(key, group);
  }
  for (const { args, shapes } of groups.values()) {
    const mode = shapes[0].mode === "files" ? "files" : args.length > 0 ? args[0] : "hello";
    await benchProcess(context, spec, args, shapes, await profileFor(context, spec, mode));
  }
  if (options.shapes.includes("memory")) await benchMemory(context, spec);
}

/**
 * Why `spec` cannot run in `mode` here (a library module it needs is missing, or its command is
 * not installed), or null.
 */
async function whySkip(spec: ServerSpec, mode: "hello" | "files"): Promise<string | null> {
  if (spec.command && !await installed(spec.name)) return `${spec.name} is not installed`;
  for (const module of spec.needs(mode)) {
    try {
      await Deno.stat(new URL(module, ROOT));
    } catch {
      return `${module} is missing`;
    }
  }
  return null;
}

/** Whether `command` runs here (`command -v`). */
async function installed(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${command}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** One server process: start, warm up, measure each of `shapes`, stop. */
async function benchProcess(
  context: Context,
  spec: ServerSpec,
  args: string[],
  shapes: LoadShape[],
  profile: Profile | undefined,
): Promise<void> {
  const { options, children, fsRoot, round } = context;
  const fail = (shape: LoadShape, error: unknown) => {
    const note = (error as Error).message;
    round.load.push({ shape: shape.name, server: spec.name, status: "failed", note });
    progress(spec, shape.title, `FAILED: ${note}`);
  };
  let server: RunningServer;
  try {
    server = await startServer(children, spec, args, fsRoot, profile);
  } catch (error) {
    for (const shape of shapes) fail(shape, error);
    return;
  }
  try {
    const first = shapes[0];
    await check(server, first);
    progress(spec, "warm-up", `${options.warmupSeconds} s of ${first.title}`);
    await runWrk(wrkLoad(first, server.port, options.warmupSeconds), children);
    for (const shape of shapes) {
      await delay(PAUSE_MS);
      try {
        round.load.push(await measure(context, spec, server, shape));
      } catch (error) {
        fail(shape, error);
      }
    }
  } catch (error) {
    for (const shape of shapes) {
      if (!round.load.some((row) => row.shape === shape.name && row.server === spec.name)) {
        fail(shape, error);
      }
    }
  } finally {
    await server.stop();
  }
}

/** One shape against a running, warmed-up server. */
async function measure(
  { options, children, results }: Context,
  spec: ServerSpec,
  server: RunningServer,
  shape: LoadShape,
): Promise<LoadRow> {
  await check(server, shape);
  if (shape.newConnections) await quietTimeWait(spec);
  const timeWaitAtStart = await timeWaitSockets();
  const before = await cpuTicks(server.pid);
  const started = performance.now();
  const wrk = await runWrk(wrkLoad(shape, server.port, options.seconds), children);
  const elapsed = (performance.now() - started) / 1_000;
  const cpuSeconds = (await cpuTicks(server.pid) - before) / results.settings.clockTicksPerSecond;
  if (server.exited) throw new Error(`the server exited during the run\n${server.stderr()}`);
  const row: LoadRow = {
    shape: shape.name,
    server: spec.name,
    status: "ok",
    wrk,
    cpuMicrosPerRequest: wrk.requests > 0 ? cpuSeconds * 1e6 / wrk.requests : undefined,
    cpuPercent: cpuSeconds / elapsed * 100,
    timeWaitAtStart,
  };
  if (wrk.errors > 0) row.note = `wrk counted errors: ${wrk.errorDetail}`;
  progress(
    spec,
    shape.title,
    `${fmt.count(wrk.requestsPerSecond)} req/s, p99 ${fmt.latency(wrk.p99Ms)}` +
      (wrk.errors > 0 ? `, errors: ${wrk.errorDetail}` : ""),
  );
  return row;
}

/** Waits (bounded) until earlier runs' TIME_WAIT sockets have mostly expired. */
async function quietTimeWait(spec: ServerSpec): Promise<void> {
  let left = await timeWaitSockets();
  if (left <= QUIET_TIME_WAIT) return;
  progress(spec, "waiting", `${fmt.count(left)} TIME_WAIT sockets to expire (60 s at most)`);
  const deadline = Date.now() + QUIET_WAIT_MS;
  while (left > QUIET_TIME_WAIT && Date.now() < deadline) {
    await delay(1_000);
    left = await timeWaitSockets();
  }
}

/**
 * Where `spec`'s process for `mode` writes its profile under --cpu-prof (with several rounds,
 * one per round: ours-hello-r2); none otherwise.
 */
async function profileFor(
  { options, round }: Context,
  spec: ServerSpec,
  mode: string,
): Promise<Profile | undefined> {
  if (!options.cpuProf) return undefined;
  const dir = new URL("out/profiles/", BENCH).pathname;
  await Deno.mkdir(dir, { recursive: true });
  const suffix = options.rounds > 1 ? `-r${round.round}` : "";
  return { dir, name: `${spec.name}-${mode}${suffix}` };
}

/** The memory shape: a fresh process in hello mode, then idle connections. */
async function benchMemory(context: Context, spec: ServerSpec) {
  const { children, fsRoot, results, round } = context;
  const push = (row: Omit<MemoryRow, "server">) => round.memory.push({ server: spec.name, ...row });
  const skip = await whySkip(spec, "hello");
  const args = spec.args("hello", fsRoot);
  if (skip !== null || !Array.isArray(args)) {
    push({ status: "skipped", note: skip ?? "no hello mode" });
    return;
  }
  const limit = results.settings.openFilesLimit;
  const connections = Math.max(1, Math.min(IDLE_CONNECTIONS, limit - FD_HEADROOM));
  if (connections < IDLE_CONNECTIONS && !results.notes.some((n) => n.startsWith("ulimit"))) {
    results.notes.push(
      `ulimit -n is ${limit}: the memory shape opened ${connections} idle connections, ` +
        `not ${IDLE_CONNECTIONS} (raise it with \`ulimit -n 4096\` before the run)`,
    );
  }
  let server: RunningServer | undefined;
  try {
    const profile = await profileFor(context, spec, "memory");
    server = await startServer(children, spec, args, fsRoot, profile);
    const memory = await measureIdleMemory(server.pid, server.port, connections);
    push({ status: "ok", memory });
    progress(
      spec,
      SHAPES.memory.title,
      `${fmt.mebibytes(memory.rssStartKiB)} at start, ${fmt.mebibytes(memory.rssWithKiB)} with ` +
        `${connections} idle: ${memory.kibPerConnection.toFixed(1)} KiB each`,
    );
  } catch (error) {
    push({ status: "failed", note: (error as Error).message });
    progress(spec, SHAPES.memory.title, `FAILED: ${(error as Error).message}`);
  } finally {
    await server?.stop();
  }
}

function wrkLoad(shape: LoadShape, port: number, seconds: number): WrkLoad {
  return {
    url: `http://127.0.0.1:${port}${shape.path}`,
    connections: CONNECTIONS,
    seconds,
    headers: shape.headers,
    script: shape.script ? new URL(shape.script, BENCH).pathname : undefined,
  };
}

/** One request for `shape`'s path, to be sure the server answers it right before loading it. */
async function check(server: RunningServer, shape: LoadShape): Promise<void> {
  const reply = await getOnce(server.port, shape.path);
  const expected = shape.file ? STATIC_FILES[shape.file] : "Hello, World!".length;
  if (reply.status !== 200 || reply.body.length !== expected) {
    throw new Error(
      `GET ${shape.path} answered ${reply.status} with ${reply.body.length} bytes, ` +
        `not 200 with ${expected}`,
    );
  }
}

/** The static files, filled with random bytes so nothing can compress them. */
async function writeStaticFiles(dir: string): Promise<void> {
  for (const [name, size] of Object.entries(STATIC_FILES)) {
    const bytes = new Uint8Array(size);
    // getRandomValues fills at most 64 KiB per call.
    for (let at = 0; at < size; at += 65_536) {
      crypto.getRandomValues(bytes.subarray(at, at + 65_536));
    }
    await Deno.writeFile(`${dir}/${name}`, bytes);
  }
}

/** Rows by shape, then server, in the suite's order. */
function sortRows(results: Pick<RunResults, "load" | "memory">): void {
  const shapeAt = (name: string) => SHAPE_NAMES.indexOf(name as typeof SHAPE_NAMES[number]);
  const serverAt = (name: string) => SERVER_NAMES.indexOf(name as typeof SERVER_NAMES[number]);
  results.load.sort((a, b) =>
    shapeAt(a.shape) - shapeAt(b.shape) || serverAt(a.server) - serverAt(b.server)
  );
  results.memory.sort((a, b) => serverAt(a.server) - serverAt(b.server));
}

async function writeOutputs(results: RunResults, all: boolean): Promise<void> {
  const out = new URL("out/", BENCH);
  await Deno.mkdir(out, { recursive: true });
  const written = [new URL("latest.json", out)];
  await Deno.writeTextFile(written[0], JSON.stringify(results, null, 2) + "\n");
  if (all) {
    written.push(new URL("RESULTS.md", BENCH), new URL("chart.svg", BENCH));
    await Deno.writeTextFile(written[1], renderMarkdown(results));
    await Deno.writeTextFile(written[2], renderChart(results));
    await denoFmt(written[1], written[2]);
  }
  const root = ROOT.pathname;
  console.log(`wrote ${written.map((url) => url.pathname.replace(root, "")).join(", ")}`);
}

/** Formats written files the way `deno fmt --check` wants them (e.g. aligned table columns). */
async function denoFmt(...files: URL[]): Promise<void> {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", ...files.map((file) => file.pathname)],
    cwd: ROOT.pathname,
    stdout: "null",
    stderr: "piped",
  });
  const { success, stderr } = await fmt.output();
  if (!success) {
    console.error(`deno fmt failed:\n${new TextDecoder().decode(stderr)}`);
  }
}

function progress(spec: ServerSpec, what: string, said: string): void {
  if (!interrupted) console.error(`${roundLabel}[${spec.label}] ${what}: ${said}`);
}

if (import.meta.main) Deno.exit(await main());
