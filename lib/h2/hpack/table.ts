/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of fields, newest first, bounded by
 * size in octets where each entry costs name + value + 32 (§4.1). Strings are byte strings
 * (one char per octet), so `.length` is the octet count.
 *
 * Stored as a ring of two parallel arrays so adding and evicting never shift elements.
 *
 * @module
 */

export const ENTRY_OVERHEAD = 32;

export class DynamicTable {
  #names: string[] = new Array(32);
  #values: string[] = new Array(32);
  #mask = 31;
  #tail = 0; // oldest entry
  #count = 0;
  /** Sum of entry sizes (§4.1). */
  size = 0;
  /** Total entries ever added: the encoder names entries by this absolute number. */
  inserted = 0;
  /** Called for each evicted entry with its absolute number (the `inserted` count before it). */
  onEvict: ((name: string, value: string, id: number) => void) | null = null;

  constructor(public maxSize = 4096) {}

  get length(): number {
    return this.#count;
  }

  /** Name at `i`, where 0 is the newest entry (HPACK index 62). */
  name(i: number): string {
    return this.#names[(this.#tail + this.#count - 1 - i) & this.#mask];
  }

  value(i: number): string {
    return this.#values[(this.#tail + this.#count - 1 - i) & this.#mask];
  }

  /** Adds a field, evicting from the old end first (§4.4). */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      // "an attempt to add an entry larger than the maximum size causes the table to be
      // emptied of all existing entries and results in an empty table" (§4.4)
      this.#evictTo(0);
      this.inserted++;
      return;
    }
    this.#evictTo(this.maxSize - size);
    this.inserted++;
    if (this.#count === this.#mask + 1) this.#grow();
    const at = (this.#tail + this.#count) & this.#mask;
    this.#names[at] = name;
    this.#values[at] = value;
    this.#count++;
    this.size += size;
  }

  /** A new maximum size (from a size update or a SETTINGS change), evicting to fit (§4.3). */
  setMaxSize(max: number): void {
    this.maxSize = max;
    this.#evictTo(max);
  }

  /** The entries newest first, as [name, value] pairs (for tests and debugging). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.#count; i++) out.push([this.name(i), this.value(i)]);
    return out;
  }

  #evictTo(limit: number): void {
    while (this.size > limit) {
      const at = this.#tail;
      const name = this.#names[at], value = this.#values[at];
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      this.#names[at] = this.#values[at] = "";
      this.#tail = (at + 1) & this.#mask;
      this.#count--;
      this.onEvict?.(name, value, this.inserted - this.#count - 1);
    }
  }

  #grow(): void {
    const n = this.#count, cap = (this.#mask + 1) * 2;
    const names: string[] = new Array(cap), values: string[] = new Array(cap);
    for (let i = 0; i < n; i++) {
      names[i] = this.#names[(this.#tail + i) & this.#mask];
      values[i] = this.#values[(this.#tail + i) & this.#mask];
    }
    this.#names = names;
    this.#values = values;
    this.#mask = cap - 1;
    this.#tail = 0;
  }
}
