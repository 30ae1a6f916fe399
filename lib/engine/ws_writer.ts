/**
 * The write side of a server WebSocket (engine/websocket.ts): frames in the order they were
 * sent, at most one write in flight, `bufferedAmount` as the message bytes not yet written.
 *
 * Theory of operation. Everything sent is an {@link Entry} in one queue, in order. A small
 * message without compression, the usual kind, is framed at `send()` into a batch: a buffer
 * taken from a pool all sockets share, at the tail of the queue, which the next small messages
 * join while it is the tail and not being written (no allocation per message). Everything else
 * (a big message, a Blob, a message to compress, our close frame, the protocol's pongs and close
 * echo) is turned into bytes by the socket's `encode` when its turn comes.
 *
 * A write starts as soon as there is something to write and no write in flight, unless the
 * socket holds the writer (while it dispatches the messages of one read, so that their echoes
 * leave in one write). What is sent while a write is under way goes out together after it.
 *
 * @module
 */

/** What is sent: a message, raw frames, or our close frame. */
export type Entry =
  | { kind: "message"; text: boolean; data: Uint8Array; size: number }
  | { kind: "blob"; blob: Blob; size: number }
  /** Frames ready to write; `size` counts the message bytes in them (for bufferedAmount). */
  | { kind: "frames"; bytes: Uint8Array; size: number }
  | { kind: "close"; code: number | undefined; reason: string; size: 0 };

/** One entry of the write queue. */
type Queued = Entry | Batch;

/** Small messages framed one after the other in a pooled buffer. */
interface Batch {
  kind: "batch";
  buffer: Uint8Array;
  length: number;
  size: number;
}

/** What an entry is on the wire: its bytes, null when it is no longer to be sent. */
export type Encode = (entry: Entry) => Uint8Array | Promise<Uint8Array | null> | null;

/** Batch buffers; a batch is closed when full. */
const BATCH = 16 * 1024;
/** Free batch buffers kept (for all sockets): a socket holds one only until it is written. */
const POOL_MAX = 64;
/** A write from the queue gathers entries up to about this many bytes. */
const WRITE_BATCH = 64 * 1024;
/** Room for the longest frame header in a batch (RFC 6455 §5.2: 2 + 2 bytes up to 64 KiB). */
const MAX_HEADER = 4;
/** Text up to this long is encoded into a batch (its UTF-8 is at most 3 bytes a unit). */
const BATCH_TEXT = (BATCH - MAX_HEADER) / 3;
/** Text up to this long is tried as ASCII, copied unit by unit: cheaper than `encodeInto`. */
const ASCII_TEXT = 256;

const pool: Uint8Array[] = [];
const encoder = new TextEncoder();

export class FrameWriter {
  readonly #conn: Deno.Conn;
  readonly #encode: Encode;
  #queue: Queued[] = [];
  /** The batch at the tail of the queue, while more may join it. */
  #open: Batch | null = null;
  #queuedBytes = 0;
  #writing = false;
  /** The batch {@link #writeBatch} writes, and how much of it is written. */
  #writingBatch: Batch | null = null;
  #batchOffset = 0;
  #held = false;
  #failed = false;
  #bytesSent = 0;
  #idle: (() => void)[] = [];

  constructor(conn: Deno.Conn, encode: Encode) {
    this.#conn = conn;
    this.#encode = encode;
  }

  /** Message bytes sent and not yet written. */
  get bufferedAmount(): number {
    return this.#queuedBytes;
  }

  /** Bytes written to the connection. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** A text message, framed at once (RFC 6455 §5.6: one frame, FIN, opcode 1). */
  text(text: string): void {
    const length = text.length;
    const batch = length <= BATCH_TEXT ? this.#room(MAX_HEADER + length * 3) : null;
    if (batch === null) {
      const bytes = encoder.encode(text);
      return this.push(frameEntry(0x1, bytes, bytes.length));
    }
    const buf = batch.buffer;
    const start = batch.length;
    if (length <= ASCII_TEXT) {
      // A call into the runtime costs more than copying a short ASCII text here, four units at
      // a time. Written where its header leaves it (as many bytes as units); anything else is
      // encoded again below.
      const at = start + (length < 126 ? 2 : 4);
      let i = 0, all = 0;
      for (; i + 4 <= length; i += 4) {
        const c0 = text.charCodeAt(i), c1 = text.charCodeAt(i + 1);
        const c2 = text.charCodeAt(i + 2), c3 = text.charCodeAt(i + 3);
        all |= c0 | c1 | c2 | c3;
        buf[at + i] = c0, buf[at + i + 1] = c1, buf[at + i + 2] = c2, buf[at + i + 3] = c3;
      }
      for (; i < length; i++) {
        const c = text.charCodeAt(i);
        all |= c;
        buf[at + i] = c;
      }
      if (all < 0x80) return this.#framed(batch, 0x1, length, at);
    }
    const at = start + MAX_HEADER;
    this.#framed(batch, 0x1, encoder.encodeInto(text, buf.subarray(at)).written, at);
  }

  /** A binary message, copied into its frame at once (the caller may change its buffer). */
  binary(view: Uint8Array): void {
    const n = view.length;
    const batch = this.#room(MAX_HEADER + n);
    if (batch === null) return this.push(frameEntry(0x2, view, n));
    const at = batch.length + (n < 126 ? 2 : 4);
    batch.buffer.set(view, at);
    this.#framed(batch, 0x2, n, at);
  }

  /** Queues an entry behind everything sent before it. */
  push(entry: Entry): void {
    this.#open = null;
    this.#queue.push(entry);
    this.#queuedBytes += entry.size;
    this.#kick();
  }

  /** Holds writes back until {@link release}, to gather what is sent meanwhile. */
  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    this.#kick();
  }

  /** Whether a write is under way or anything waits to be written. */
  get busy(): boolean {
    return this.#writing || this.#queue.length > 0;
  }

  /** Resolves once everything sent so far is written, or can never be. */
  idle(): Promise<void> {
    if (!this.busy || this.#failed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The open batch if it has `size` bytes free, else a new one at the tail of the queue; null
   *  when `size` is more than a batch holds. */
  #room(size: number): Batch | null {
    if (size > BATCH || this.#failed) return null;
    const open = this.#open;
    if (open !== null && open.length + size <= BATCH) return open;
    const batch: Batch = {
      kind: "batch",
      buffer: pool.pop() ?? new Uint8Array(BATCH),
      length: 0,
      size: 0,
    };
    this.#queue.push(batch);
    return this.#open = batch;
  }

  /** Writes the header of an unfragmented frame of `n` payload bytes, framed at `at`, and
   *  moves the payload to follow it when the header came out shorter than room was left for. */
  #framed(batch: Batch, opcode: number, n: number, at: number): void {
    const buf = batch.buffer;
    const start = batch.length;
    buf[start] = 0x80 | opcode;
    let payload = start + 2;
    if (n < 126) buf[start + 1] = n;
    else {
      buf[start + 1] = 126;
      buf[start + 2] = n >>> 8;
      buf[start + 3] = n & 0xff;
      payload += 2;
    }
    if (payload !== at) buf.copyWithin(payload, at, at + n);
    batch.length = payload + n;
    batch.size += n;
    this.#queuedBytes += n;
    this.#kick();
  }

  /** Starts the next write if there is something to write and none is under way. */
  #kick(): void {
    if (this.#writing || this.#held || this.#failed) return;
    const queue = this.#queue;
    if (queue.length === 0) return this.#settle();
    this.#writing = true;
    if (queue.length === 1 && queue[0].kind === "batch") this.#writeBatch(queue.pop() as Batch);
    else this.#writeQueue();
  }

  /** The usual write: one batch, one promise reaction, no async function's turns. */
  #writeBatch(batch: Batch): void {
    this.#open = null;
    this.#writingBatch = batch;
    this.#batchOffset = 0;
    this.#conn.write(batch.buffer.subarray(0, batch.length)).then(this.#onBatch, this.#onError);
  }

  #onBatch = (n: number): void => {
    const batch = this.#writingBatch!;
    const offset = this.#batchOffset += n;
    if (offset < batch.length) {
      // The kernel took part of it: the rest, before anything else.
      this.#conn.write(batch.buffer.subarray(offset, batch.length)).then(
        this.#onBatch,
        this.#onError,
      );
      return;
    }
    this.#writingBatch = null;
    release(batch);
    this.#written(batch.length, batch.size);
  };

  #onError = (): void => this.#fail();

  /** Writes queued entries (all it can gather up to WRITE_BATCH) in one write. */
  async #writeQueue(): Promise<void> {
    const batches: Batch[] = [];
    try {
      const parts: Uint8Array[] = [];
      let length = 0, size = 0;
      while (this.#queue.length > 0 && length < WRITE_BATCH) {
        const entry = this.#queue.shift()!;
        size += entry.size;
        let frames: Uint8Array | Promise<Uint8Array | null> | null;
        if (entry.kind === "batch") {
          if (entry === this.#open) this.#open = null;
          batches.push(entry);
          frames = entry.buffer.subarray(0, entry.length);
        } else frames = entry.kind === "frames" ? entry.bytes : this.#encode(entry);
        if (frames instanceof Promise) frames = await frames;
        if (frames !== null) {
          parts.push(frames);
          length += frames.length;
        }
      }
      if (length > 0) await this.#write(parts.length === 1 ? parts[0] : join(parts, length));
      for (const batch of batches) release(batch);
      this.#written(length, size);
    } catch {
      this.#fail();
    }
  }

  /** One `conn.write` in the usual case; the rest when the kernel took part of it. */
  #write(bytes: Uint8Array): Promise<unknown> {
    return this.#conn.write(bytes).then((n) =>
      n < bytes.length ? this.#write(bytes.subarray(n)) : undefined
    );
  }

  #written(length: number, size: number): void {
    this.#writing = false;
    this.#bytesSent += length;
    this.#queuedBytes -= size;
    this.#kick();
  }

  /** The connection is gone: nothing queued will reach the peer. The read side sees it too. */
  #fail(): void {
    this.#writing = false;
    this.#failed = true;
    this.#queue = [];
    this.#open = null;
    this.#queuedBytes = 0;
    this.#settle();
  }

  #settle(): void {
    if (this.#idle.length === 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}

function release(batch: Batch): void {
  if (pool.length < POOL_MAX) pool.push(batch.buffer);
}

/** A message framed in a buffer of its own (too big for the batch, or behind the queue). */
function frameEntry(opcode: number, payload: Uint8Array, n: number): Entry {
  const extra = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const bytes = new Uint8Array(2 + extra + n);
  bytes[0] = 0x80 | opcode;
  if (extra === 0) bytes[1] = n;
  else if (extra === 2) {
    bytes[1] = 126;
    bytes[2] = n >>> 8;
    bytes[3] = n & 0xff;
  } else {
    bytes[1] = 127;
    const view = new DataView(bytes.buffer);
    view.setUint32(2, Math.floor(n / 0x100000000));
    view.setUint32(6, n >>> 0);
  }
  bytes.set(payload, 2 + extra);
  return { kind: "frames", bytes, size: n };
}

function join(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
