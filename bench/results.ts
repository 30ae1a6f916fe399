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
}

/** One server in the memory shape. */
export interface MemoryRow {
  server: ServerName;
  status: Status;
  note?: string;
  memory?: IdleMemory;
  /** KiB per idle connection over the baseline's. */
  ratio?: number;
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
  /** The soft limit on open files the harness found, and so could give the memory shape. */
  openFilesLimit: number;
}

/** Everything one run found. */
export interface RunResults {
  command: string;
  machine: Machine;
  settings: Settings;
  load: LoadRow[];
  memory: MemoryRow[];
  /** Remarks about the run as a whole (e.g. fewer idle connections than asked, and why). */
  notes: string[];
}
