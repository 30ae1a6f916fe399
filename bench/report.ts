/**
 * The results as a terminal table, as bench/RESULTS.md, and as JSON.
 *
 * @module
 */

import * as fmt from "./format.ts";
import type { LoadRow, MemoryRow, RunResults } from "./results.ts";
import { BASELINE, PIPELINE_DEPTH, SERVERS, SHAPES } from "./suite.ts";

type Align = "left" | "right";
interface Table {
  headers: string[];
  align: Align[];
  rows: string[][];
  /** Rows after which a group ends (a blank line in the terminal). */
  groupEnds: Set<number>;
}

const LOAD_HEADERS = [
  "shape",
  "server",
  "req/s",
  `vs ${SERVERS[BASELINE].label}`,
  "p50",
  "p99",
  "CPU µs/req",
  "CPU %",
  "MB/s",
  "errors",
];

/** Ratios against the baseline, filled in once every row is in. */
export function addRatios(results: RunResults): void {
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

function loadTable(rows: LoadRow[]): Table {
  const table: Table = {
    headers: LOAD_HEADERS,
    align: ["left", "left", ...LOAD_HEADERS.slice(2).map((): Align => "right")],
    rows: [],
    groupEnds: new Set(),
  };
  rows.forEach((row, i) => {
    const label = [SHAPES[row.shape].title, SERVERS[row.server].label];
    const wrk = row.wrk;
    if (row.status !== "ok" || !wrk) {
      table.rows.push([...label, row.status, ...LOAD_HEADERS.slice(3).map(() => "—")]);
    } else {
      table.rows.push([
        ...label,
        fmt.count(wrk.requestsPerSecond),
        fmt.ratio(row.ratio),
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

function memoryTable(rows: MemoryRow[]): Table {
  const connections = rows.find((row) => row.memory)?.memory?.connections ?? 0;
  const headers = [
    "server",
    "RSS at start",
    `RSS with ${fmt.count(connections)} idle`,
    "KiB per idle conn",
    `vs ${SERVERS[BASELINE].label}`,
  ];
  return {
    headers,
    align: ["left", "right", "right", "right", "right"],
    rows: rows.map((row) =>
      row.memory
        ? [
          SERVERS[row.server].label,
          fmt.mebibytes(row.memory.rssStartKiB),
          fmt.mebibytes(row.memory.rssWithKiB),
          row.memory.kibPerConnection.toFixed(1),
          fmt.ratio(row.ratio),
        ]
        : [SERVERS[row.server].label, row.status, "—", "—", "—"]
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

/** The run as the terminal shows it. */
export function renderText(results: RunResults): string {
  const parts: string[] = [];
  if (results.load.length > 0) parts.push(terminal(loadTable(results.load)));
  if (results.memory.length > 0) parts.push(terminal(memoryTable(results.memory)));
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
    `Ratios are against ${SERVERS[BASELINE].label}: above 1× is more requests per second.`,
  ];
  if (results.load.length > 0) {
    out.push("", "## Throughput and latency", "", markdown(loadTable(results.load)));
    out.push("", "![req/s per shape and server](chart.svg)");
  }
  if (results.memory.length > 0) {
    out.push("", "## Memory per idle keep-alive connection", "");
    out.push(
      "RSS (VmRSS) of a freshly started server, then with that many connections open, each " +
        "after one request and its response. For memory the ratio is KiB per connection: below " +
        "1× is leaner.",
      "",
      markdown(memoryTable(results.memory)),
    );
  }
  const notes = rowNotes(results);
  if (notes.length > 0) out.push("", "## Notes", "", ...notes.map((note) => `- ${note}`));
  return out.join("\n") + "\n";
}
