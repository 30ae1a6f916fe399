/**
 * A growable byte buffer written front to back and reused: the HPACK encoder and the frame
 * writers append to one, the connection hands its contents to the engine in one piece.
 *
 * @module
 */

export class ByteWriter {
  buf: Uint8Array;
  /** Bytes written so far; `buf[0..length)` is the content. */
  length = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  /** Makes room for `n` more bytes; doubling keeps appends amortised O(1). */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf, p = this.length;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.length = p + 4;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /** The content as a view (valid until the next write or `clear`). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the content, then empties the buffer (keeping its memory). */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }

  clear(): void {
    this.length = 0;
  }
}
