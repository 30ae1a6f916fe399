/**
 * A response body that is a span of an open file, as a type both sides know: the static file
 * server makes one, and the engine, finding one untouched, copies the file to the socket itself
 * instead of pulling the stream chunk by chunk (Go's `io.ReaderFrom` does the same for sendfile).
 *
 * It is an ordinary `ReadableStream` too, so a response carrying one works anywhere: read by a
 * handler, cloned, or sent by `Deno.serve`. Once anybody has pulled from it, or it was cloned
 * (which puts a tee in the response's place), the engine reads it as any other stream.
 *
 * @module
 */

/** Bytes per pull when a file is read as a stream. */
const CHUNK = 256 * 1024;

/** A file ended before the length measured when the response was made. */
export class FileShrank extends Error {
  constructor() {
    super("the file shrank while being served");
    this.name = "FileShrank";
  }
}

/** Fills `buffer` from the file's position; a file that ends first has shrunk. */
export async function readFully(file: Deno.FsFile, buffer: Uint8Array): Promise<Uint8Array> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(filled === 0 ? buffer : buffer.subarray(filled));
    if (n === null) throw new FileShrank();
    filled += n;
  }
  return buffer;
}

/**
 * The underlying source of a stream over an open file that `step` fills one piece per pull, on
 * demand, so a client that stops reading stops the reading too. `step` resolves true after the
 * last piece. The file is closed at the end, on an error, and when the stream is cancelled.
 */
export function fileSource(
  file: Deno.FsFile,
  step: (controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>) => Promise<boolean>,
): UnderlyingDefaultSource<Uint8Array<ArrayBuffer>> {
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return {
    async pull(controller) {
      try {
        if (await step(controller)) {
          close();
          controller.close();
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  };
}

/** What {@link FileBody.claim} hands the engine: the file, and the stream locked to it. */
export interface ClaimedFile {
  /** Positioned at the body's first byte. */
  file: Deno.FsFile;
  /** Bytes of the body. */
  length: number;
  /** Holds the stream's lock; cancelling it closes the file. */
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

/** `length` bytes of an open file from its current position, one fresh buffer per pull. */
export class FileBody extends ReadableStream<Uint8Array<ArrayBuffer>> {
  /** The open file, positioned at the body's first byte until the stream is first pulled. */
  readonly file: Deno.FsFile;
  /** Bytes of the body. */
  readonly length: number;
  #pulled = false;

  constructor(file: Deno.FsFile, length: number) {
    let left = length;
    let self: FileBody | null = null;
    super(
      fileSource(file, async (controller) => {
        if (self !== null) self.#pulled = true;
        if (left === 0) return true;
        const buffer = new Uint8Array(Math.min(CHUNK, left));
        const n = await file.read(buffer);
        if (n === null) throw new FileShrank();
        left -= n;
        controller.enqueue(n === buffer.length ? buffer : buffer.subarray(0, n));
        return left === 0;
      }),
      { highWaterMark: 0 },
    );
    self = this;
    this.file = file;
    this.length = length;
  }

  /**
   * The file behind this body, for a reader that copies it itself, when nobody has pulled from
   * the stream or locked it; null otherwise. The stream stays locked to the claimant, whose
   * reader's `cancel()` closes the file.
   */
  claim(): ClaimedFile | null {
    if (this.#pulled || this.locked) return null;
    return { file: this.file, length: this.length, reader: this.getReader() };
  }
}
