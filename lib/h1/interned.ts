/**
 * Short strings read from request bytes, reused when the same bytes come again: clients send the
 * same field names, and mostly the same Host and targets, request after request, and making a
 * string of them each time is a good part of parsing a short head.
 *
 * A small direct-mapped table: the slot is a hash of the bytes, and a hit is confirmed by
 * comparing every byte, so a string is only ever reused for exactly the bytes it was made from.
 * A miss replaces the slot. Bounded: 256 entries (by default) of at most {@link MAX_LENGTH}
 * bytes.
 *
 * @module
 */

import { latin1 } from "./grammar.ts";

/** Longer strings are made each time (their bytes vary more, and comparing costs more). */
const MAX_LENGTH = 32;

/** One table: bytes to the string made of them by `make`. */
export class InternTable {
  readonly #bytes: (Uint8Array | undefined)[];
  readonly #strings: string[];
  readonly #make: (bytes: Uint8Array, start: number, end: number) => string;
  /** Slots less one: the number of slots is a power of two. */
  readonly #mask: number;

  constructor(make: (bytes: Uint8Array, start: number, end: number) => string, slotBits = 8) {
    this.#make = make;
    this.#mask = (1 << slotBits) - 1;
    this.#bytes = new Array(this.#mask + 1);
    this.#strings = new Array(this.#mask + 1);
  }

  /** `make(view, start, end)`, or the string made before from the same bytes. */
  get(view: Uint8Array, start: number, end: number): string {
    const length = end - start;
    if (length === 0 || length > MAX_LENGTH) return this.#make(view, start, end);
    const slot = (length * 31 + view[start] * 7 + view[start + (length >> 1)] * 3 +
      view[end - 1]) & this.#mask;
    const known = this.#bytes[slot];
    if (known !== undefined && known.length === length) {
      let i = 0;
      while (i < length && known[i] === view[start + i]) i++;
      if (i === length) return this.#strings[slot];
    }
    const made = this.#make(view, start, end);
    this.#bytes[slot] = view.slice(start, end);
    this.#strings[slot] = made;
    return made;
  }
}

/** Field names, lower-cased (RFC 9110 §5.1: they are case-insensitive). */
export const fieldNames = new InternTable((view, start, end) =>
  latin1(view, start, end).toLowerCase()
);

/** Targets and field values, as they are (ISO-8859-1, RFC 9110 §5.5). */
export const fieldTexts = new InternTable(latin1);
