/**
 * The HPACK decoder (RFC 7541 §3, §6): a field block in, the field list out, the dynamic
 * table kept in step. Any decoding failure is a COMPRESSION_ERROR connection error
 * (RFC 9113 §4.3): once a block fails, the two tables can no longer agree.
 *
 * The decoded list is bounded by `maxListSize` (name + value + 32 per field, RFC 9113
 * §6.5.2) while decoding: past it, no more strings are built for the list (an HPACK bomb,
 * a small block referencing one big table entry many times, costs only the bytes it sends),
 * but the block is still read to its end so the dynamic table stays in sync and the
 * connection survives; `decode` then returns null and the caller answers that one stream.
 *
 * @module
 */

import { ConnectionError, ErrorCode } from "../errors.ts";
import { huffmanDecode } from "./huffman.ts";
import { STATIC_LENGTH, STATIC_TABLE } from "./static_table.ts";
import { latin1 } from "./strings.ts";
import { DynamicTable, ENTRY_OVERHEAD } from "./table.ts";

/** A decoded field: [name, value], byte strings. */
export type Field = [string, string];

/** Largest integer a field block may carry: larger ones are an overflow attack (§5.1). */
export const MAX_INTEGER = 0xffffffff;

function fail(why: string): never {
  throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `HPACK: ${why}`);
}

export class Decoder {
  readonly table: DynamicTable;
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most a size update may ask for (§4.2, §6.3). */
  maxTableSize: number;
  #pos = 0;
  #scratch = new Uint8Array(1024);

  constructor(maxTableSize = 4096) {
    this.maxTableSize = maxTableSize;
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * Decodes a complete field block. Returns the fields in order, or null when their total
   * size passed `maxListSize` (the block was still fully processed).
   */
  decode(block: Uint8Array, maxListSize = Infinity): Field[] | null {
    const end = block.length;
    const fields: Field[] = [];
    const table = this.table;
    let listSize = 0;
    let over = false;
    let fieldSeen = false;
    this.#pos = 0;
    while (this.#pos < end) {
      const b = block[this.#pos];
      let name: string, value: string;
      if (b & 0x80) {
        // Indexed field (§6.1).
        const index = this.#int(block, 0x7f);
        if (index === 0) fail("index 0");
        if (index <= STATIC_LENGTH) {
          [name, value] = STATIC_TABLE[index - 1];
        } else {
          const i = index - STATIC_LENGTH - 1;
          if (i >= table.length) fail(`index ${index} beyond the table`);
          name = table.name(i);
          value = table.value(i);
        }
      } else if (b & 0x40) {
        // Literal with incremental indexing (§6.2.1): the strings are needed for the table.
        const index = this.#int(block, 0x3f);
        name = index === 0 ? this.#string(block, true) : this.#nameAt(index);
        value = this.#string(block, true);
        table.add(name, value);
      } else if (b & 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block (§4.2).
        if (fieldSeen) fail("table size update after a field");
        const size = this.#int(block, 0x1f);
        if (size > this.maxTableSize) {
          fail(`table size update ${size} above SETTINGS_HEADER_TABLE_SIZE ${this.maxTableSize}`);
        }
        table.setMaxSize(size);
        continue;
      } else {
        // Literal without indexing (§6.2.2) or never indexed (§6.2.3): 4-bit prefix.
        const index = this.#int(block, 0x0f);
        name = index === 0 ? this.#string(block, !over) : this.#nameAt(index);
        value = this.#string(block, !over);
      }
      fieldSeen = true;
      if (over) continue;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) {
        over = true;
        fields.length = 0;
        continue;
      }
      fields.push([name, value]);
    }
    return over ? null : fields;
  }

  #nameAt(index: number): string {
    if (index <= STATIC_LENGTH) return STATIC_TABLE[index - 1][0];
    const i = index - STATIC_LENGTH - 1;
    if (i >= this.table.length) fail(`name index ${index} beyond the table`);
    return this.table.name(i);
  }

  /** An integer with an N-bit prefix (§5.1), starting at `#pos`. */
  #int(block: Uint8Array, mask: number): number {
    let pos = this.#pos;
    let value = block[pos++] & mask;
    if (value === mask) {
      let scale = 1, b: number;
      do {
        if (pos >= block.length) fail("truncated integer");
        b = block[pos++];
        value += (b & 0x7f) * scale;
        scale *= 128;
        // Five continuation octets hold 35 bits: more is padding with zeros or an overflow.
        if (value > MAX_INTEGER || scale > 2 ** 35) fail("integer overflow");
      } while (b & 0x80);
    }
    this.#pos = pos;
    return value;
  }

  /** A string literal (§5.2); with `keep` false it is checked and skipped, not built. */
  #string(block: Uint8Array, keep: boolean): string {
    if (this.#pos >= block.length) fail("truncated string");
    const huffman = block[this.#pos] & 0x80;
    const len = this.#int(block, 0x7f);
    const start = this.#pos, end = start + len;
    if (end > block.length) fail("string longer than the block");
    this.#pos = end;
    if (!huffman) return keep ? latin1(block, start, end) : "";
    // At most 8/5 symbols per octet: the shortest code is 5 bits.
    const room = ((len * 8) / 5 + 1) | 0;
    if (this.#scratch.length < room) {
      this.#scratch = new Uint8Array(Math.max(room, 2 * this.#scratch.length));
    }
    const n = huffmanDecode(block, start, end, this.#scratch, 0);
    return keep ? latin1(this.#scratch, 0, n) : "";
  }
}
