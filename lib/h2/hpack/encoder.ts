/**
 * The HPACK encoder (RFC 7541 §6), tuned for a server's responses.
 *
 * Per field, in order of preference:
 * - a full match in the static or dynamic table: one indexed field (§6.1);
 * - sensitive fields (set-cookie, cookie, authorization, proxy-authorization): "never
 *   indexed" (§6.2.3, §7.1.3), so neither we nor any intermediary keeps a secret in a
 *   compression context an attacker can probe (CRIME-style);
 * - fields whose values change per response (content-length, etag, last-modified, ...):
 *   "without indexing" (§6.2.2), since inserting them would only evict useful entries;
 * - the rest (content-type, server, vary, cache-control, date, ...): "with incremental
 *   indexing" (§6.2.1) when the entry fits in a quarter of the table, so the second
 *   response on a connection sends them as one octet each.
 * Strings are Huffman-coded when that is shorter (§5.2). Encodings that do not touch the
 * dynamic table are cached per name and value (a bounded map), and fields already in the
 * dynamic table are found by name and value, so the usual responses cost a few map lookups
 * and copies. Secrets are never cached.
 *
 * @module
 */

import { ByteWriter } from "../buffer.ts";
import { huffmanEncode, huffmanLength } from "./huffman.ts";
import { STATIC_FIELD_INDEX, STATIC_LENGTH, STATIC_NAME_INDEX } from "./static_table.ts";
import { writeLatin1 } from "./strings.ts";
import { DynamicTable, ENTRY_OVERHEAD } from "./table.ts";

/** How a literal field is represented (§6.2). */
export const Indexing = { INCREMENTAL: 0, WITHOUT: 1, NEVER: 2 } as const;
export type Indexing = (typeof Indexing)[keyof typeof Indexing];

const SENSITIVE = new Set(["set-cookie", "cookie", "authorization", "proxy-authorization"]);

/** Values that differ from one response to the next: indexing them would churn the table. */
const VOLATILE = new Set([
  "content-length",
  "content-range",
  "etag",
  "last-modified",
  "age",
  "expires",
  "location",
  "content-disposition",
  ":path",
]);

/** Cached encodings, at most this many before the cache starts over. */
const CACHE_LIMIT = 1024;

export interface EncoderOptions {
  /** Huffman-code strings: "auto" when shorter (default), or always, or never. */
  huffman?: "auto" | "always" | "never";
  /** Our own cap on the dynamic table, whatever the peer allows (default 4096). */
  maxTableSize?: number;
  /** Lower-case names before encoding (default true; RFC 9113 §8.2.1 needs lower case). */
  lowerCaseNames?: boolean;
}

export class Encoder {
  readonly table: DynamicTable;
  readonly #huffman: "auto" | "always" | "never";
  readonly #ownMax: number;
  readonly #lower: boolean;
  /** Name → value → absolute entry number in the dynamic table. */
  readonly #dynFields = new Map<string, Map<string, number>>();
  /** Name → absolute number of the newest entry with that name. */
  readonly #dynNames = new Map<string, number>();
  /** Name → value → encoded bytes, for fields whose encoding leaves the table alone. */
  #cache = new Map<string, Map<string, Uint8Array>>();
  #cached = 0;
  /** Smallest size since the last block, then the current one (§4.2), or -1 for none. */
  #pendingMin = -1;
  readonly #scratch = new ByteWriter(256);

  constructor(options: EncoderOptions = {}) {
    this.#huffman = options.huffman ?? "auto";
    this.#ownMax = options.maxTableSize ?? 4096;
    this.#lower = options.lowerCaseNames ?? true;
    this.table = new DynamicTable(Math.min(4096, this.#ownMax));
    this.table.onEvict = (name, value, id) => {
      const values = this.#dynFields.get(name);
      if (values?.get(value) === id) {
        values.delete(value);
        if (values.size === 0) this.#dynFields.delete(name);
      }
      if (this.#dynNames.get(name) === id) this.#dynNames.delete(name);
    };
    if (this.table.maxSize !== 4096) this.#pendingMin = this.table.maxSize;
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE changed: use at most that much (and at most our
   * own cap), and signal the new size at the start of the next block (§4.2).
   */
  setPeerMaxTableSize(peerMax: number): void {
    const size = Math.min(peerMax, this.#ownMax);
    if (size === this.table.maxSize && this.#pendingMin < 0) return;
    this.#pendingMin = this.#pendingMin < 0 ? size : Math.min(this.#pendingMin, size);
    if (size < this.table.maxSize) this.table.setMaxSize(size);
    else this.table.maxSize = size;
  }

  /** Writes the pending size update(s), if any: call at the start of every block. */
  beginBlock(w: ByteWriter): void {
    if (this.#pendingMin < 0) return;
    if (this.#pendingMin < this.table.maxSize) writeInt(w, 0x20, 5, this.#pendingMin);
    writeInt(w, 0x20, 5, this.table.maxSize);
    this.#pendingMin = -1;
  }

  /** Encodes a field block: `beginBlock` then every field. */
  encode(w: ByteWriter, fields: Iterable<readonly [string, string]>): void {
    this.beginBlock(w);
    for (const [name, value] of fields) this.field(w, name, value);
  }

  /** Encodes one field; `indexing` overrides the policy above (tests, special cases). */
  field(w: ByteWriter, name: string, value: string, indexing?: Indexing): void {
    if (indexing === undefined) {
      // The usual response fields end here: a stateless encoding seen before, or an entry
      // already in the dynamic table (table names are lower case, so a raw hit is a hit).
      const cached = this.#cache.get(name)?.get(value);
      if (cached !== undefined) {
        w.bytes(cached);
        return;
      }
      const id = this.#dynFields.get(name)?.get(value);
      if (id !== undefined) {
        writeInt(w, 0x80, 7, this.#index(id));
        return;
      }
    }
    if (this.#lower && hasUpper(name)) name = name.toLowerCase(); // §8.2.1: upper case is malformed in h2
    const full = STATIC_FIELD_INDEX.get(name)?.get(value);
    if (full !== undefined) {
      writeInt(w, 0x80, 7, full);
      if (indexing === undefined) this.#remember(name, value, new Uint8Array([0x80 | full]));
      return;
    }
    const dynId = this.#dynFields.get(name)?.get(value);
    if (dynId !== undefined) {
      writeInt(w, 0x80, 7, this.#index(dynId));
      return;
    }
    if (indexing === undefined) {
      if (SENSITIVE.has(name)) indexing = Indexing.NEVER;
      else if (
        VOLATILE.has(name) ||
        (name.length + value.length + ENTRY_OVERHEAD) * 4 > this.table.maxSize
      ) indexing = Indexing.WITHOUT;
      else indexing = Indexing.INCREMENTAL;
    }
    let nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    if (nameIndex === 0) {
      const id = this.#dynNames.get(name);
      if (id !== undefined) nameIndex = this.#index(id);
    }
    const start = w.length;
    if (indexing === Indexing.INCREMENTAL) writeInt(w, 0x40, 6, nameIndex);
    else writeInt(w, indexing === Indexing.NEVER ? 0x10 : 0x00, 4, nameIndex);
    if (nameIndex === 0) this.#string(w, name);
    this.#string(w, value);
    if (indexing === Indexing.INCREMENTAL) {
      this.table.add(name, value);
      const id = this.table.inserted - 1;
      if (this.table.length > 0 && this.table.name(0) === name) {
        let values = this.#dynFields.get(name);
        if (!values) this.#dynFields.set(name, values = new Map());
        values.set(value, id);
        this.#dynNames.set(name, id);
      }
    } else if (nameIndex <= STATIC_LENGTH && value.length <= 128 && !SENSITIVE.has(name)) {
      // Stateless: the same bytes every time (a dynamic name index would not be). Volatile
      // values (content-length, etag) repeat per resource; the cache's bound caps the churn.
      this.#remember(name, value, w.buf.slice(start, w.length));
    }
  }

  /** Encodes `:status` (the static table holds 200, 204, 206, 304, 400, 404, 500). */
  status(w: ByteWriter, code: number): void {
    const full = STATUS_INDEX[code];
    if (full !== undefined) w.u8(0x80 | full);
    else this.field(w, ":status", STATUS_TEXT[code] ?? String(code));
  }

  /** HPACK index of the dynamic entry with absolute number `id` (newest is 62). */
  #index(id: number): number {
    return this.table.inserted - id + STATIC_LENGTH;
  }

  #remember(name: string, value: string, bytes: Uint8Array): void {
    if (this.#cached >= CACHE_LIMIT) {
      this.#cache = new Map();
      this.#cached = 0;
    }
    let values = this.#cache.get(name);
    if (!values) this.#cache.set(name, values = new Map());
    values.set(value, bytes);
    this.#cached++;
  }

  #string(w: ByteWriter, s: string): void {
    const mode = this.#huffman;
    const hlen = mode === "never" ? Infinity : huffmanLength(s);
    if (mode === "always" || hlen < s.length) {
      writeInt(w, 0x80, 7, hlen);
      w.ensure(hlen);
      w.length = huffmanEncode(s, w.buf, w.length);
    } else {
      writeInt(w, 0x00, 7, s.length);
      w.ensure(s.length);
      w.length = writeLatin1(s, w.buf, w.length);
    }
  }

  /** Encodes into a fresh array (tests, one-off blocks). */
  encodeToBytes(fields: Iterable<readonly [string, string]>): Uint8Array {
    this.#scratch.clear();
    this.encode(this.#scratch, fields);
    return this.#scratch.take();
  }
}

const STATUS_INDEX: Record<number, number> = {};
for (const [code, index] of STATIC_FIELD_INDEX.get(":status")!) STATUS_INDEX[+code] = index;
const STATUS_TEXT: string[] = [];
for (let code = 100; code < 600; code++) STATUS_TEXT[code] = String(code);

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** Writes `value` with an N-bit prefix (§5.1); `flags` are the bits above the prefix. */
export function writeInt(w: ByteWriter, flags: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    w.u8(flags | value);
    return;
  }
  w.u8(flags | max);
  value -= max;
  while (value >= 128) {
    w.u8((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  w.u8(value);
}
