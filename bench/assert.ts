/**
 * The few assertions bench/harness_test.ts needs, so the bench imports nothing from outside.
 *
 * @module
 */

import { deepStrictEqual, ok, throws } from "node:assert";

/** Fails unless `condition` holds. */
export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

/** Fails unless `actual` deeply equals `expected`. */
export function assertEquals<T>(actual: T, expected: T): void {
  deepStrictEqual(actual, expected);
}

/** Fails unless `fn` throws. */
export function assertThrows(fn: () => unknown): void {
  throws(fn);
}
