/**
 * Buffers of closed connections, kept for new ones: allocating an ArrayBuffer, and collecting it
 * after, costs more than reusing one (docs/architecture.md has the measurement). Go's net/http
 * pools its per-connection bufio readers and writers likewise.
 *
 * @module
 */

/** Free buffers of one size, at most `max` of them. */
export class BufferPool {
  readonly #size: number;
  readonly #max: number;
  readonly #free: Uint8Array[] = [];

  constructor(size: number, max: number) {
    this.#size = size;
    this.#max = max;
  }

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.#size);
  }

  /** Only when nothing can still read into it or write from it. */
  give(buffer: Uint8Array | null): void {
    if (buffer === null || buffer.length !== this.#size || this.#free.length >= this.#max) return;
    // Only [start, end) of a read buffer and [0, length) of output are ever used, so stale bytes
    // could not leak to the next connection; zeroing makes sure of it.
    this.#free.push(buffer.fill(0));
  }
}
