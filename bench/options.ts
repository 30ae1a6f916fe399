/**
 * The harness's command line.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { SERVER_NAMES, type ServerName, SHAPE_NAMES, type ShapeName } from "./suite.ts";

/** What a run was asked for. */
export interface Options {
  /** Seconds of load per shape. */
  seconds: number;
  /** Seconds of warm-up load for each server process before it is measured. */
  warmupSeconds: number;
  shapes: ShapeName[];
  servers: ServerName[];
  /**
   * Times every chosen server runs over every chosen shape, interleaved round by round; with
   * more than one, the results are the medians and their spread (bench/rounds.ts).
   */
  rounds: number;
  /** Write bench/RESULTS.md and bench/chart.svg (bench/out/latest.json is always written). */
  writeResults: boolean;
  /** Run the servers under Deno's CPU profiler, writing to bench/out/profiles/. */
  cpuProf: boolean;
}

export const USAGE =
  `Usage: deno run --allow-all bench/run.ts [options]   (or: deno task bench [options])

  --duration N      seconds of load per shape (default 5)
  --quick           2 s per shape and 1 s warm-ups
  --shapes a,b      only these shapes: ${SHAPE_NAMES.join(", ")}
  --servers a,b     only these servers: ${SERVER_NAMES.join(", ")}
  --rounds N        run every server over the shapes N times (default 1), interleaved: each
                    round runs all the servers, their order rotating by one per round; reports
                    each number's median over the rounds, the min–max req/s and the min–max
                    of the per-round ratios. Takes N times as long
  --no-results      do not rewrite bench/RESULTS.md and bench/chart.svg
  --cpu-prof        profile each server process (Deno's --cpu-prof) into bench/out/profiles/;
                    implies --no-results, since the profiler costs throughput
  -h, --help        this text`;

/** More rounds than this is a typo: each one takes minutes. */
const MAX_ROUNDS = 50;

/** Reads the command line; throws a message meant for the user on anything unknown. */
export function parseOptions(args: string[]): Options | "help" {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      duration: { type: "string" },
      quick: { type: "boolean", default: false },
      shapes: { type: "string" },
      servers: { type: "string" },
      rounds: { type: "string" },
      "no-results": { type: "boolean", default: false },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  let seconds = values.quick ? 2 : 5;
  if (values.duration !== undefined) {
    seconds = Number(values.duration);
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) {
      throw new Error(`--duration takes whole seconds from 1 to 600, not "${values.duration}"`);
    }
  }
  let rounds = 1;
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
      throw new Error(
        `--rounds takes a whole number from 1 to ${MAX_ROUNDS}, not "${values.rounds}"`,
      );
    }
  }
  return {
    seconds,
    warmupSeconds: values.quick ? 1 : 2,
    shapes: pick("--shapes", values.shapes, SHAPE_NAMES),
    servers: pick("--servers", values.servers, SERVER_NAMES),
    rounds,
    writeResults: !values["no-results"] && !values["cpu-prof"],
    cpuProf: values["cpu-prof"],
  };
}

/** The names in a comma-separated list, in `all`'s order; all of them when there is no list. */
function pick<T extends string>(flag: string, list: string | undefined, all: readonly T[]): T[] {
  if (list === undefined) return [...all];
  const asked = list.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const unknown = asked.filter((name) => !(all as readonly string[]).includes(name));
  if (unknown.length > 0 || asked.length === 0) {
    throw new Error(`${flag}: unknown "${unknown.join(",")}"; choose from ${all.join(", ")}`);
  }
  return all.filter((name) => asked.includes(name));
}
