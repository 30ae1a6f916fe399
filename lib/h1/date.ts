/**
 * HTTP-date (RFC 9110 §5.6.7): formatting the Date field once a second, and reading the three
 * formats a recipient must accept.
 *
 * @module
 */

import { trimOws } from "./grammar.ts";

/** Month names as HTTP-date and the common log format spell them. */
export const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
] as const;
const MONTH_INDEX = new Map(MONTHS.map((name, i) => [name.toLowerCase(), i]));

let dateSecond = -1;
/** The last Date value formatted, for the second `dateSecond`. */
export let dateValue = "";
/** The Date field (RFC 9110 §6.6.1), formatted at most once a second. */
export function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

const IMF_FIXDATE = /^[A-Z][a-z]{2}, (\d\d) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850_DATE = /^[A-Z][a-z]{5,8}, (\d\d)-([A-Za-z]{3})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME_DATE = /^[A-Z][a-z]{2} ([A-Za-z]{3}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7) in seconds since the epoch, or null when absent or invalid (an
 * invalid date makes the condition be ignored). All three formats are accepted, all in GMT;
 * `Date.parse` would read asctime's zoneless form in the server's local time zone.
 */
export function parseHttpDate(value: string | null): number | null {
  if (value === null) return null;
  const text = trimOws(value);
  let day, month, year, hh, mm, ss;
  let m = IMF_FIXDATE.exec(text);
  if (m) [, day, month, year, hh, mm, ss] = m;
  else if ((m = RFC850_DATE.exec(text))) {
    [, day, month, year, hh, mm, ss] = m;
    // A two-digit year more than 50 years ahead is in the past century (§5.6.7).
    const now = new Date().getUTCFullYear();
    let full = now - (now % 100) + Number(year);
    if (full > now + 50) full -= 100;
    year = String(full);
  } else if ((m = ASCTIME_DATE.exec(text))) [, month, day, hh, mm, ss, year] = m;
  else return null;
  const monthIndex = MONTH_INDEX.get(month!.toLowerCase()) ?? -1;
  const d = Number(day), h = Number(hh), min = Number(mm), s = Number(ss);
  if (monthIndex < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return null;
  return Date.UTC(Number(year), monthIndex, d, h, min, s) / 1000;
}
