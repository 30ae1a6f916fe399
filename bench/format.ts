/**
 * How numbers are written in the tables and the chart.
 *
 * @module
 */

/** 54038.66 → "54,039". */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** 0.8512 → "0.85×". */
export function ratio(r: number | undefined): string {
  return r === undefined ? "—" : `${r.toFixed(2)}×`;
}

/**
 * Milliseconds, in the unit that keeps three significant digits: "657 µs", "1.23 ms", "2.10 s";
 * "n/a" for null.
 */
export function latency(ms: number | null): string {
  if (ms === null) return "n/a";
  if (ms < 1) return `${Math.round(ms * 1_000)} µs`;
  if (ms < 1_000) return `${significant(ms)} ms`;
  return `${significant(ms / 1_000)} s`;
}

/** 3 significant digits, without exponent: 1.234 → "1.23", 12.34 → "12.3", 123.4 → "123". */
export function significant(n: number): string {
  if (n >= 100) return String(Math.round(n));
  return n.toFixed(n >= 10 ? 1 : 2);
}

/** KiB → "12.3 MiB". */
export function mebibytes(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}
