/**
 * bench/chart.svg: requests per second, one panel per shape, one bar per server. Each panel has
 * its own scale (a 1 MiB file and a pipelined hello differ a hundredfold), so bars compare
 * servers within a shape, and the labels carry the numbers. With several rounds the bars are the
 * medians, and a thin line across each bar spans the lowest to the highest round.
 *
 * @module
 */

import * as fmt from "./format.ts";
import type { LoadRow, RunResults } from "./results.ts";
import { SERVER_NAMES, type ServerName, SERVERS, SHAPES } from "./suite.ts";

const WIDTH = 820;
const LABEL_X = 24;
const BAR_X = 130;
const BAR_MAX = 470;
const BAR_HEIGHT = 18;
const BAR_STEP = 26;
const PANEL_HEAD = 28;
const PANEL_GAP = 18;
const TOP = 78;

const COLORS: Record<ServerName, string> = {
  ours: "#2563eb",
  deno_serve: "#64748b",
  nginx: "#16a34a",
  raw: "#d97706",
};

/** The chart of `results`, as SVG text. */
export function renderChart(results: RunResults): string {
  const shapes = [...new Set(results.load.map((row) => row.shape))];
  const body: string[] = [];
  let y = TOP;
  for (const shape of shapes) {
    const rows = SERVER_NAMES
      .map((server) => results.load.find((row) => row.shape === shape && row.server === server))
      .filter((row): row is LoadRow => row !== undefined);
    body.push(panel(SHAPES[shape].title, rows, y, results.settings.rounds));
    y += PANEL_HEAD + rows.length * BAR_STEP + PANEL_GAP;
  }
  if (shapes.length === 0) {
    body.push(text(LABEL_X, y + 10, "No load shapes were run.", "note"));
    y += 30;
  }
  const { machine } = results;
  const rounds = results.settings.rounds;
  const subtitle = `${machine.cpu}, ${machine.cores} cores · Deno ${machine.deno} · ` +
    `${machine.date.slice(0, 10)} · ` +
    (rounds > 1 ? `median of ${rounds} rounds, line: lowest to highest · ` : "") +
    "each panel has its own scale";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" ` +
    `viewBox="0 0 ${WIDTH} ${y}" role="img" aria-label="Requests per second per shape and server">`,
    "<style>",
    "  text { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; " +
    "fill: #0f172a; }",
    "  .title { font-size: 18px; font-weight: 600; }",
    "  .subtitle { font-size: 12px; fill: #475569; }",
    "  .shape { font-size: 14px; font-weight: 600; }",
    "  .server { font-size: 13px; }",
    "  .value { font-size: 12px; font-variant-numeric: tabular-nums; }",
    "  .note { font-size: 12px; fill: #64748b; font-style: italic; }",
    "</style>",
    `<rect width="${WIDTH}" height="${y}" fill="#ffffff"/>`,
    text(LABEL_X, 32, "HTTP/1.1 server requests per second (higher is better)", "title"),
    text(LABEL_X, 54, subtitle, "subtitle"),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function panel(title: string, rows: LoadRow[], top: number, rounds: number): string {
  const best = Math.max(
    0,
    ...rows.map((row) => Math.max(row.wrk?.requestsPerSecond ?? 0, row.spread?.max ?? 0)),
  );
  const out = [
    text(LABEL_X, top + 16, title, "shape"),
    `<line x1="${BAR_X}" y1="${top + PANEL_HEAD - 4}" x2="${BAR_X}" ` +
    `y2="${top + PANEL_HEAD + rows.length * BAR_STEP - 4}" stroke="#94a3b8"/>`,
  ];
  rows.forEach((row, i) => {
    const y = top + PANEL_HEAD + i * BAR_STEP;
    const middle = y + BAR_HEIGHT / 2 + 4;
    out.push(text(LABEL_X + 8, middle, SERVERS[row.server].label, "server"));
    if (!row.wrk || best === 0) {
      out.push(text(BAR_X + 8, middle, row.note ?? row.status, "note"));
      return;
    }
    const scale = (rps: number) => Math.max(1, Math.round(rps / best * BAR_MAX));
    const width = scale(row.wrk.requestsPerSecond);
    const spread = rounds > 1 ? row.spread : undefined;
    const end = spread ? Math.max(width, scale(spread.max)) : width;
    // Files are about bandwidth too.
    const bandwidth = SHAPES[row.shape].file
      ? ` · ${fmt.significant(row.wrk.bytesPerSecond / 1e6)} MB/s`
      : "";
    const ratio = row.ratio === undefined ? "" : ` · ${fmt.ratio(row.ratio)}`;
    out.push(
      `<rect x="${BAR_X}" y="${y}" width="${width}" height="${BAR_HEIGHT}" rx="2" ` +
        `fill="${COLORS[row.server]}"/>`,
    );
    if (spread) {
      // A line from the lowest round to the highest, with a tick at each end.
      const mid = y + BAR_HEIGHT / 2;
      const [from, to] = [BAR_X + scale(spread.min), BAR_X + scale(spread.max)];
      const ticks = `M${from} ${mid - 4}V${mid + 4}M${to} ${mid - 4}V${mid + 4}`;
      out.push(
        `<path d="M${from} ${mid}H${to}${ticks}" stroke="#0f172a" stroke-width="1.5" fill="none"/>`,
      );
    }
    out.push(
      text(
        BAR_X + end + 6,
        middle,
        `${fmt.count(row.wrk.requestsPerSecond)} req/s${bandwidth}${ratio}`,
        "value",
      ),
    );
  });
  return out.join("\n");
}

function text(x: number, y: number, content: string, cls: string): string {
  return `<text x="${x}" y="${y}" class="${cls}">${escapeXml(content)}</text>`;
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
