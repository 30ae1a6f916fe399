/**
 * `--rounds N`: the order the servers run in each round, and how N rounds become one row per
 * (shape, server): the median of every number, the lowest and highest round's req/s (KiB per
 * idle connection for memory), and the lowest and highest per-round ratio to the baseline.
 *
 * Pure functions; run.ts measures the rounds and calls these.
 *
 * @module
 */

import type { IdleMemory } from "./memory.ts";
import { addRatios } from "./report.ts";
import type { LoadRow, MemoryRow, Round, Spread, Status } from "./results.ts";
import { BASELINE } from "./suite.ts";
import type { WrkReport } from "./wrk.ts";

/**
 * The median: the middle value of an odd count, the mean of the two middle values of an even
 * one. Throws on an empty list, which has none.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The server order of round `index` (0-based): `servers` rotated left by `index`, so over as many
 * rounds as there are servers each server runs once in each position (first, second, ...), and
 * whatever a position brings (coming first after a pause, or right after another server's load
 * and its closing connections) does not always fall on the same server. Round 0 is `servers`
 * as given, so one round runs in the order it always did.
 */
export function roundOrder<T>(servers: readonly T[], index: number): T[] {
  if (servers.length === 0) return [];
  const k = index % servers.length;
  return [...servers.slice(k), ...servers.slice(0, k)];
}

/** A row, and the round (1-based) it came from. */
interface Entry<Row> {
  round: number;
  row: Row;
}

/**
 * One row per (shape, server) from every round's rows: the medians over the rounds that measured
 * it, with `spread` saying how far the rounds were apart, and `ratio` taken from the medians.
 *
 * A row measured in some rounds but not others (a round failed) is "ok", with the medians of the
 * rounds that measured it, `spread.measured` below `spread.rounds`, and a note naming the rounds
 * that did not and why. A row measured in no round is "skipped" when every round skipped it (the
 * note is the reason), and "failed" otherwise (the note lists each round's failure).
 *
 * Latencies: wrk cannot always give a high percentile (bench/README.md, "n/a"); if any measured
 * round lacks one, so does the median, rather than a median of the rounds that happened to
 * report it. wrk's error counts are summed over the rounds, not taken as a median.
 */
export function aggregateRounds(
  rounds: readonly Round[],
): { load: LoadRow[]; memory: MemoryRow[] } {
  const total = rounds.length;
  const load = group(rounds, (round) => round.load, (row) => `${row.shape}\0${row.server}`).map(
    (entries) => aggregateLoad(entries, rounds, total),
  );
  const memory = group(rounds, (round) => round.memory, (row) => row.server).map((entries) =>
    aggregateMemory(entries, rounds, total)
  );
  const aggregated = { load, memory };
  addRatios(aggregated);
  return aggregated;
}

function aggregateLoad(
  entries: Entry<LoadRow>[],
  rounds: readonly Round[],
  total: number,
): LoadRow {
  const { shape, server } = entries[0].row;
  const measured = entries.filter((entry) => entry.row.status === "ok" && entry.row.wrk);
  if (measured.length === 0) return { shape, server, ...unmeasured(entries, total) };
  const wrks = measured.map((entry) => entry.row.wrk as WrkReport);
  const rps = wrks.map((wrk) => wrk.requestsPerSecond);
  const wrk: WrkReport = {
    requests: median(wrks.map((w) => w.requests)),
    seconds: median(wrks.map((w) => w.seconds)),
    requestsPerSecond: median(rps),
    bytesPerSecond: median(wrks.map((w) => w.bytesPerSecond)),
    p50Ms: medianOrNull(wrks.map((w) => w.p50Ms)),
    p99Ms: medianOrNull(wrks.map((w) => w.p99Ms)),
    errors: wrks.reduce((sum, w) => sum + w.errors, 0),
    errorDetail: measured
      .filter((entry) => (entry.row.wrk as WrkReport).errors > 0)
      .map((entry) => `round ${entry.round}: ${(entry.row.wrk as WrkReport).errorDetail}`)
      .join("; "),
  };
  const row: LoadRow = { shape, server, status: "ok", wrk };
  const cpu = medianOf(measured.map((entry) => entry.row.cpuMicrosPerRequest));
  if (cpu !== undefined) row.cpuMicrosPerRequest = cpu;
  const cpuPercent = medianOf(measured.map((entry) => entry.row.cpuPercent));
  if (cpuPercent !== undefined) row.cpuPercent = cpuPercent;
  const timeWait = medianOf(measured.map((entry) => entry.row.timeWaitAtStart));
  if (timeWait !== undefined) row.timeWaitAtStart = timeWait;
  const ratios = measured.flatMap((entry) => {
    const base = byRound(rounds, entry.round)?.load.find((b) =>
      b.shape === shape && b.server === BASELINE
    );
    return base?.status === "ok" && base.wrk && base.wrk.requestsPerSecond > 0
      ? [(entry.row.wrk as WrkReport).requestsPerSecond / base.wrk.requestsPerSecond]
      : [];
  });
  row.spread = spread(total, measured.length, rps, server === BASELINE ? [] : ratios);
  const note = notes(entries, total);
  if (note) row.note = note;
  return row;
}

function aggregateMemory(
  entries: Entry<MemoryRow>[],
  rounds: readonly Round[],
  total: number,
): MemoryRow {
  const { server } = entries[0].row;
  const measured = entries.filter((entry) => entry.row.status === "ok" && entry.row.memory);
  if (measured.length === 0) return { server, ...unmeasured(entries, total) };
  const memories = measured.map((entry) => entry.row.memory as IdleMemory);
  const kib = memories.map((m) => m.kibPerConnection);
  const memory: IdleMemory = {
    connections: median(memories.map((m) => m.connections)),
    rssStartKiB: median(memories.map((m) => m.rssStartKiB)),
    rssWithKiB: median(memories.map((m) => m.rssWithKiB)),
    kibPerConnection: median(kib),
  };
  const ratios = measured.flatMap((entry) => {
    const base = byRound(rounds, entry.round)?.memory.find((b) => b.server === BASELINE)?.memory;
    return base && base.kibPerConnection > 0
      ? [(entry.row.memory as IdleMemory).kibPerConnection / base.kibPerConnection]
      : [];
  });
  const row: MemoryRow = {
    server,
    status: "ok",
    memory,
    spread: spread(total, measured.length, kib, server === BASELINE ? [] : ratios),
  };
  const note = notes(entries, total);
  if (note) row.note = note;
  return row;
}

/** The rows of every round grouped by `key`, in the order the keys first appear. */
function group<Row>(
  rounds: readonly Round[],
  rows: (round: Round) => Row[],
  key: (row: Row) => string,
): Entry<Row>[][] {
  const groups = new Map<string, Entry<Row>[]>();
  for (const round of rounds) {
    for (const row of rows(round)) {
      const k = key(row);
      groups.set(k, [...groups.get(k) ?? [], { round: round.round, row }]);
    }
  }
  return [...groups.values()];
}

function byRound(rounds: readonly Round[], round: number): Round | undefined {
  return rounds.find((r) => r.round === round);
}

function spread(
  rounds: number,
  measured: number,
  values: number[],
  ratios: number[],
): Spread {
  const out: Spread = { rounds, measured, min: Math.min(...values), max: Math.max(...values) };
  if (ratios.length > 0) {
    out.ratioMin = Math.min(...ratios);
    out.ratioMax = Math.max(...ratios);
  }
  return out;
}

/** A row no round measured: skipped if every round skipped it, failed otherwise. */
function unmeasured<Row extends { status: Status; note?: string }>(
  entries: Entry<Row>[],
  total: number,
): { status: Status; note: string } {
  const allSkipped = entries.length === total &&
    entries.every((entry) => entry.row.status === "skipped");
  const reasons = new Set(entries.map((entry) => entry.row.note));
  if (allSkipped && reasons.size === 1) {
    return { status: "skipped", note: entries[0].row.note ?? "skipped" };
  }
  return { status: allSkipped ? "skipped" : "failed", note: misses(entries, total).join("; ") };
}

/**
 * A measured row's note: the rounds that did not measure it, and why, then what the measured
 * rounds noted (e.g. wrk's errors), each with its round; undefined when there is nothing to say.
 */
function notes<Row extends { status: Status; note?: string }>(
  entries: Entry<Row>[],
  total: number,
): string | undefined {
  const measured = entries.filter((entry) => entry.row.status === "ok").length;
  const out = measured < total ? [`measured in ${measured} of ${total} rounds`] : [];
  out.push(...misses(entries, total));
  for (const { round, row } of entries) {
    if (row.status === "ok" && row.note) out.push(`round ${round}: ${row.note}`);
  }
  return out.length > 0 ? out.join("; ") : undefined;
}

/** "round 2 failed: …", "rounds 1, 3 skipped: …", "round 3 did not run", for unmeasured rounds. */
function misses<Row extends { status: Status; note?: string }>(
  entries: Entry<Row>[],
  total: number,
): string[] {
  const byReason = new Map<string, number[]>();
  const add = (reason: string, round: number) =>
    byReason.set(reason, [...byReason.get(reason) ?? [], round]);
  for (const { round, row } of entries) {
    if (row.status !== "ok") add(`${row.status}: ${row.note ?? "no reason given"}`, round);
  }
  for (let round = 1; round <= total; round++) {
    if (!entries.some((entry) => entry.round === round)) add("did not run", round);
  }
  return [...byReason].map(([reason, rounds]) =>
    `${rounds.length === 1 ? "round" : "rounds"} ${rounds.join(", ")} ${reason}`
  );
}

/** The median of the defined values; undefined when there are none. */
function medianOf(values: (number | undefined)[]): number | undefined {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length > 0 ? median(defined) : undefined;
}

/** The median, or null when any value is null (a latency wrk could not give in some round). */
function medianOrNull(values: (number | null)[]): number | null {
  return values.some((v) => v === null) ? null : median(values as number[]);
}
