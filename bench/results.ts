/**
 * What a run produces, as written to bench/out/latest.json and rendered by report.ts and
 * chart.ts.
 *
 * @module
 */

import type { IdleMemory } from "./memory.ts";
import type { ServerName, ShapeName } from "./suite.ts";
import type { WrkReport } from "./wrk.ts";

/** Whether a row was measured, left out on purpose, or went wrong. */
export type Status = "ok" | "skipped" | "failed";

/** One server under one wrk-driven shape. */
export interface LoadRow {
  shape: Exclude<ShapeName, "memory">;
  server: ServerName;
  status: Status;
  /** Why it was skipped or what failed. */
  note?: string;
  wrk?: WrkReport;
  /** Server CPU time (user + system, all threads) per request served, in microseconds. */
  cpuMicrosPerRequest?: number;
  /** Server CPU time over wall time while loaded; 100 is one core busy. */
  cpuPercent?: number;
  /** requests/s over the baseline's (Deno.serve) in the same shape. */
  ratio?: number;
  /** Sockets in TIME_WAIT on the machine when the measured run started. */
  timeWaitAtStart?: number;
  /** With more than one round: how the rounds spread (req/s, and the per-round ratios). */
  spread?: Spread;
}

/** One server in the memory shape. */
export interface MemoryRow {
  server: ServerName;
  status: Status;
  note?: string;
  memory?: IdleMemory;
  /** KiB per idle connection over the baseline's. */
  ratio?: number;
  /** With more than one round: how the rounds spread (KiB per idle connection, and ratios). */
  spread?: Spread;
}

/**
 * How one (shape, server) varied over the rounds of a `--rounds N` run (N > 1). The row it hangs
 * off holds the medians; this holds the extremes.
 */
export interface Spread {
  /** Rounds run. */
  rounds: number;
  /** Rounds that measured this row (status "ok"); the medians are over these. */
  measured: number;
  /** The lowest and highest round: req/s for a load row, KiB per idle connection for memory. */
  min: number;
  max: number;
  /**
   * The lowest and highest of the per-round ratios to the baseline, over the rounds where both
   * this row and the baseline's were measured; absent when there are none, and for the baseline.
   */
  ratioMin?: number;
  ratioMax?: number;
}

/** One round of a `--rounds N` run: every chosen server over every chosen shape, once. */
export interface Round {
  /** 1-based. */
  round: number;
  /** The order the servers ran in this round. */
  order: ServerName[];
  load: LoadRow[];
  memory: MemoryRow[];
}

/** Where and how the numbers were taken. */
export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  deno: string;
  v8: string;
  wrk: string;
  /** The repository's commit, and whether lib/ or bench/ differed from it. */
  commit: string;
  /** /proc/loadavg's 1, 5 and 15 minute load averages when the run started. */
  loadAverage: string;
  /** ISO 8601, when the run started. */
  date: string;
}

/** The run's settings, so numbers from different runs are not compared blindly. */
export interface Settings {
  seconds: number;
  warmupSeconds: number;
  wrkThreads: number;
  connections: number;
  pipelineDepth: number;
  clockTicksPerSecond: number;
  /** Rounds (`--rounds`): with more than one, the rows are medians over them. */
  rounds: number;
  /** The soft limit on open files the harness found, and so could give the memory shape. */
  openFilesLimit: number;
}

/** Everything one run found. */
export interface RunResults {
  command: string;
  machine: Machine;
  settings: Settings;
  /** One row per (shape, server): with several rounds, the medians (see `Spread`). */
  load: LoadRow[];
  memory: MemoryRow[];
  /** Every round's own rows, when there was more than one round. */
  rounds?: Round[];
  /** Remarks about the run as a whole (e.g. fewer idle connections than asked, and why). */
  notes: string[];
}
