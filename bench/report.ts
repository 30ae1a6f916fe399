/**
 * The results as a terminal table, as bench/RESULTS.md, and as JSON.
 *
 * @module
 */

import * as fmt from "./format.ts";
import type { LoadRow, MemoryRow, RunResults, Spread } from "./results.ts";
import { BASELINE, PIPELINE_DEPTH, SERVERS, SHAPES } from "./suite.ts";

type Align = "left" | "right";
interface Table {
  headers: string[];
  align: Align[];
  rows: string[][];
  /** Rows after which a group ends (a blank line in the terminal). */
  groupEnds: Set<number>;
}

const BASE_LABEL = SERVERS[BASELINE].label;

/** The load table's columns; with several rounds, the spread columns join in. */
function loadHeaders(rounds: number): string[] {
  return [
    "shape",
    "server",
    "req/s",
    ...(rounds > 1 ? ["req/s min–max"] : []),
    `vs ${BASE_LABEL}`,
    ...(rounds > 1 ? ["ratio min–max"] : []),
    "p50",
    "p99",
    "CPU µs/req",
    "CPU %",
    "MB/s",
    "errors",
  ];
}

/**
 * "55,012–83,100" (the lowest and highest round's req/s), with "(2 of 3)" after it when some
 * rounds did not measure the row.
 */
function spreadCell(spread: Spread | undefined, format: (n: number) => string): string {
  if (!spread) return "—";
  const partial = spread.measured < spread.rounds
    ? ` (${spread.measured} of ${spread.rounds})`
    : "";
  return `${format(spread.min)}–${format(spread.max)}${partial}`;
}

/** "0.73–1.09×": the lowest and highest per-round ratio; "—" for the baseline itself. */
function ratioSpreadCell(spread: Spread | undefined): string {
  if (spread?.ratioMin === undefined || spread.ratioMax === undefined) return "—";
  return `${spread.ratioMin.toFixed(2)}–${spread.ratioMax.toFixed(2)}×`;
}

/** Ratios against the baseline, filled in once every row is in. */
export function addRatios(results: Pick<RunResults, "load" | "memory">): void {
  for (const row of results.load) {
    const base = results.load.find((b) => b.shape === row.shape && b.server === BASELINE);
    if (row.wrk && base?.wrk) {
      row.ratio = row.wrk.requestsPerSecond / base.wrk.requestsPerSecond;
    }
  }
  const baseMemory = results.memory.find((b) => b.server === BASELINE)?.memory;
  for (const row of results.memory) {
    if (row.memory && baseMemory && baseMemory.kibPerConnection > 0) {
      row.ratio = row.memory.kibPerConnection / baseMemory.kibPerConnection;
    }
  }
}

/** The servers of the summary, in its column order: ours first, then what it is measured against. */
const SUMMARY_SERVERS = ["ours", "raw", "deno_serve", "nginx"] as const;

/**
 * One row per shape: each server's req/s (MB/s for the 1 MiB file), ours as a ratio of each other
 * server's, and every server's CPU µs per request side by side.
 */
function summaryTable(rows: LoadRow[]): Table {
  const shapes = [...new Set(rows.map((row) => row.shape))];
  const label = (server: string) => SERVERS[server as keyof typeof SERVERS].label;
  const others = SUMMARY_SERVERS.slice(1);
  const table: Table = {
    headers: [
      "shape",
      ...SUMMARY_SERVERS.map(label),
      ...others.map((server) => `ours / ${label(server)}`),
      `CPU µs/req ${SUMMARY_SERVERS.map(label).join(" / ")}`,
    ],
    align: [
      "left",
      ...SUMMARY_SERVERS.map(() => "right" as const),
      ...others.map(() => "right" as const),
      "right",
    ],
    rows: [],
    groupEnds: new Set(),
  };
  for (const shape of shapes) {
    const bytes = shape === "static-1m";
    const of = (server: string) => rows.find((r) => r.shape === shape && r.server === server);
    const rate = (row: LoadRow | undefined) =>
      row?.wrk ? (bytes ? row.wrk.bytesPerSecond / 1e6 : row.wrk.requestsPerSecond) : undefined;
    const ours = rate(of("ours"));
    table.rows.push([
      SHAPES[shape].title,
      ...SUMMARY_SERVERS.map((server) => {
        const value = rate(of(server));
        return value === undefined ? "—" : bytes ? `${fmt.count(value)} MB/s` : fmt.count(value);
      }),
      ...others.map((server) => {
        const value = rate(of(server));
        return ours === undefined || value === undefined ? "—" : `${(ours / value).toFixed(2)}×`;
      }),
      SUMMARY_SERVERS.map((server) => {
        const cpu = of(server)?.cpuMicrosPerRequest;
        return cpu === undefined ? "—" : cpu.toFixed(1);
      }).join(" / "),
    ]);
  }
  return table;
}

function loadTable(rows: LoadRow[], rounds: number): Table {
  const headers = loadHeaders(rounds);
  const table: Table = {
    headers,
    align: ["left", "left", ...headers.slice(2).map((): Align => "right")],
    rows: [],
    groupEnds: new Set(),
  };
  rows.forEach((row, i) => {
    const label = [SHAPES[row.shape].title, SERVERS[row.server].label];
    const wrk = row.wrk;
    if (row.status !== "ok" || !wrk) {
      table.rows.push([...label, row.status, ...headers.slice(3).map(() => "—")]);
    } else {
      table.rows.push([
        ...label,
        fmt.count(wrk.requestsPerSecond),
        ...(rounds > 1 ? [spreadCell(row.spread, fmt.count)] : []),
        fmt.ratio(row.ratio),
        ...(rounds > 1 ? [ratioSpreadCell(row.spread)] : []),
        fmt.latency(wrk.p50Ms),
        fmt.latency(wrk.p99Ms),
        row.cpuMicrosPerRequest === undefined ? "—" : fmt.significant(row.cpuMicrosPerRequest),
        row.cpuPercent === undefined ? "—" : `${Math.round(row.cpuPercent)}%`,
        fmt.significant(wrk.bytesPerSecond / 1e6),
        wrk.errorDetail || "0",
      ]);
    }
    if (rows[i + 1]?.shape !== row.shape) table.groupEnds.add(i);
  });
  return table;
}

function memoryTable(rows: MemoryRow[], rounds: number): Table {
  const connections = rows.find((row) => row.memory)?.memory?.connections ?? 0;
  const many = rounds > 1;
  const headers = [
    "server",
    "RSS at start",
    `RSS with ${fmt.count(connections)} idle`,
    "KiB per idle conn",
    ...(many ? ["KiB min–max"] : []),
    `vs ${BASE_LABEL}`,
    ...(many ? ["ratio min–max"] : []),
  ];
  return {
    headers,
    align: ["left", ...headers.slice(1).map((): Align => "right")],
    rows: rows.map((row) =>
      row.memory
        ? [
          SERVERS[row.server].label,
          fmt.mebibytes(row.memory.rssStartKiB),
          fmt.mebibytes(row.memory.rssWithKiB),
          row.memory.kibPerConnection.toFixed(1),
          ...(many ? [spreadCell(row.spread, (kib) => kib.toFixed(1))] : []),
          fmt.ratio(row.ratio),
          ...(many ? [ratioSpreadCell(row.spread)] : []),
        ]
        : [SERVERS[row.server].label, row.status, ...headers.slice(2).map(() => "—")]
    ),
    groupEnds: new Set(),
  };
}

/** Why rows were skipped or failed, one line each. */
function rowNotes(results: RunResults): string[] {
  const load = results.load
    .filter((row) => row.note)
    .map((row) => `${SHAPES[row.shape].title} / ${SERVERS[row.server].label}: ${row.note}`);
  const memory = results.memory
    .filter((row) => row.note)
    .map((row) => `memory / ${SERVERS[row.server].label}: ${row.note}`);
  return [...load, ...memory, ...results.notes];
}

function terminal(table: Table): string {
  const widths = table.headers.map((header, c) =>
    Math.max(header.length, ...table.rows.map((row) => row[c].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, c) =>
      table.align[c] === "left" ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
    ).join("  ").trimEnd();
  const out = [line(table.headers), widths.map((w) => "─".repeat(w)).join("  ")];
  table.rows.forEach((row, i) => {
    out.push(line(row));
    if (table.groupEnds.has(i) && i < table.rows.length - 1) out.push("");
  });
  return out.join("\n");
}

function markdown(table: Table): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const rule = table.align.map((a) => a === "left" ? ":---" : "---:");
  return [table.headers, rule, ...table.rows]
    .map((cells) => `| ${cells.map(escape).join(" | ")} |`)
    .join("\n");
}

/** What the numbers of a several-round run are. */
function roundsSentence(rounds: number): string {
  return `Rounds: ${rounds}. Each round runs every server over every shape, the order of the ` +
    `servers rotating by one from round to round. Every number is the median of the ${rounds} ` +
    `rounds, each column on its own (so p99 and req/s may come from different rounds); a ` +
    `latency wrk could not give (n/a) in any round stays n/a, and errors are the sum over the ` +
    `rounds. "min–max" is the lowest and highest round. vs ${BASE_LABEL} is the ratio of the ` +
    `medians; "ratio min–max" is the lowest and highest of the per-round ratios, each between ` +
    `two runs of the same round, minutes apart rather than the whole run.`;
}

const ONE_ROUND = "Rounds: 1. Each number is one run; on a shared machine a run can be tens of " +
  "percent off the next, so compare with care (`--rounds N` reports medians and their spread).";

/** The run as the terminal shows it. */
export function renderText(results: RunResults): string {
  const rounds = results.settings.rounds;
  const parts: string[] = [];
  if (rounds > 1) {
    parts.push(
      `Medians of ${rounds} rounds; min–max: the lowest and highest round; vs ${BASE_LABEL}: ` +
        "the ratio of the medians; ratio min–max: the lowest and highest per-round ratio.",
    );
  }
  if (results.load.length > 0) {
    parts.push(terminal(summaryTable(results.load)));
    parts.push(terminal(loadTable(results.load, rounds)));
  }
  if (results.memory.length > 0) parts.push(terminal(memoryTable(results.memory, rounds)));
  const notes = rowNotes(results);
  if (notes.length > 0) parts.push(notes.map((note) => `note: ${note}`).join("\n"));
  return parts.join("\n\n");
}

/** The run as bench/RESULTS.md. */
export function renderMarkdown(results: RunResults): string {
  const { machine: m, settings: s } = results;
  const out = [
    "# Benchmark results",
    "",
    "Written by `bench/run.ts`; bench/README.md says what each shape means and how to read this.",
    "",
    `Command: \`${results.command}\``,
    "",
    "| machine | |",
    "| :--- | :--- |",
    `| CPU | ${m.cpu} |`,
    `| cores | ${m.cores} (shared by wrk and the server under test) |`,
    `| kernel | ${m.kernel} |`,
    `| Deno | ${m.deno} (V8 ${m.v8}) |`,
    `| wrk | ${m.wrk} |`,
    `| code | ${m.commit} |`,
    `| load average at start | ${m.loadAverage} |`,
    `| date | ${m.date} |`,
    "",
    `Every load shape: wrk with ${s.wrkThreads} thread, ${s.connections} connections, ` +
    `${s.seconds} s, after a ${s.warmupSeconds} s warm-up of each server process. ` +
    `Pipelining sends ${PIPELINE_DEPTH} requests per write. ` +
    `CPU is the server process's user + system time (/proc/PID/stat, ` +
    `${s.clockTicksPerSecond} ticks/s) over the measured run. ` +
    `Ratios are against ${BASE_LABEL}: above 1× is more requests per second.`,
    "",
    s.rounds > 1 ? roundsSentence(s.rounds) : ONE_ROUND,
  ];
  if (results.load.length > 0) {
    out.push(
      "",
      "## Summary",
      "",
      "Ours against the raw `Deno.listen` loop (the limit for a JavaScript server), `Deno.serve` " +
        "and nginx (one process), with every server's CPU per request.",
      "",
      markdown(summaryTable(results.load)),
    );
    out.push("", "## Throughput and latency", "", markdown(loadTable(results.load, s.rounds)));
    out.push("", "![req/s per shape and server](chart.svg)");
  }
  if (results.memory.length > 0) {
    out.push("", "## Memory per idle keep-alive connection", "");
    out.push(
      "RSS (VmRSS) of a freshly started server, then with that many connections open, each " +
        "after one request and its response. For memory the ratio is KiB per connection: below " +
        "1× is leaner.",
      "",
      markdown(memoryTable(results.memory, s.rounds)),
    );
  }
  const notes = rowNotes(results);
  if (notes.length > 0) out.push("", "## Notes", "", ...notes.map((note) => `- ${note}`));
  return out.join("\n") + "\n";
}
