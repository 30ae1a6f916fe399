/**
 * When a request arrived, next to when something was looked up: a file's metadata read after a
 * request arrived is as fresh for that request as metadata read now, so a busy static server can
 * stat a file once for all the requests that arrived before the stat, instead of once each,
 * and still never answer a request with a file state older than the request.
 *
 * JavaScript never sees the moment bytes arrive, only the read that returns them, often later.
 * Two facts about Deno's event loop bound it:
 *
 * - A read that finds bytes waiting may complete within the call that starts it; then they
 *   arrived before anything that runs after that call.
 * - A read that has to wait completes in the runtime, and its result is handed to JavaScript at
 *   the start of a turn of the event loop, with every other result that is ready: then its bytes
 *   arrived before anything that runs in that turn, even in code that runs before the read's own
 *   continuation does.
 *
 * So a lookup happened after a request's bytes arrived if it was made after the read that
 * returned them was started, and in the turn that read was handed over in, or a later one. A
 * "turn" here is one run of the microtask queue; it begins with the first `turn()` call after
 * the queue last ran dry, so a turn never spans two turns of the event loop (it may end early,
 * which only makes the rule stricter).
 *
 * @module
 */

/** Orders read starts and lookups as they happen. */
let clock = 0;
let currentTurn = 0;
let turnOpen = false;

/** What is known of when the bytes returned by one read arrived. */
export interface Arrival {
  /** The clock when the read was started. */
  readonly started: number;
  /** The turn its result was handed over in. */
  readonly turn: number;
}

/** The arrival of bytes no read has returned yet: no lookup counts for them. */
export const NEVER_ARRIVED: Arrival = Object.freeze({ started: Infinity, turn: Infinity });

/** When a lookup was made, for {@link lookedUpSince}. */
export interface Lookup {
  readonly at: number;
  readonly turn: number;
}

function turn(): number {
  if (!turnOpen) {
    turnOpen = true;
    currentTurn++;
    queueMicrotask(closeTurn);
  }
  return currentTurn;
}

function closeTurn(): void {
  turnOpen = false;
}

/** Call right before starting a read; pass what it returns to {@link readDelivered}. */
export function readStarting(): number {
  return ++clock;
}

/** Call when a read started at `started` has returned, in the same turn of the event loop. */
export function readDelivered(started: number): Arrival {
  return { started, turn: turn() };
}

/** Call right before a lookup whose result may serve requests that arrived before it. */
export function lookupStarting(): Lookup {
  return { at: ++clock, turn: turn() };
}

/** Whether `lookup` was made after bytes that arrived as `arrival` had arrived. */
export function lookedUpSince(lookup: Lookup, arrival: Arrival): boolean {
  return arrival.started < lookup.at && arrival.turn <= lookup.turn;
}

// ---- The stamp on a request ----------------------------------------------------------------
//
// The engine stamps every Request it makes with the arrival of the read that completed it, and
// the static file server reads the stamp back to decide whether a stat it already holds is fresh
// enough for that request. A Request made anywhere else carries no stamp, and gets a fresh stat.

const arrivals = Symbol("arrival");

/** Stamps `request` with when the bytes that completed it arrived (the engine does this). */
export function noteArrival(request: Request, arrival: Arrival): void {
  (request as Request & { [arrivals]?: Arrival })[arrivals] = arrival;
}

/** When `request` arrived, if our connection made it; undefined for any other request. */
export function arrivalOf(request: Request): Arrival | undefined {
  return (request as Request & { [arrivals]?: Arrival })[arrivals];
}
