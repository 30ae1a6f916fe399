/**
 * A direct path from a file to the socket for the bodies `serveFile`/`serveDir` stream.
 *
 * Those bodies are `ReadableStream`s, which cost a fresh buffer and several promise round trips
 * per chunk. When the connection finds that such a Response's stream is untouched, it claims
 * it here and copies the file itself: reused buffers, and the next block read while the
 * previous one is written. A Response used anywhere else (its body read by a handler, cloned,
 * given to `Deno.serve`) keeps its ordinary stream; nothing here changes it.
 *
 * @module
 */

/** What a direct copy needs: an open file positioned at the body's first byte. */
interface FileBody {
  file: Deno.FsFile;
  length: number;
  /** The Response's stream; its cancel must close the file. */
  stream: ReadableStream<Uint8Array>;
}

/** A claimed body: the stream is locked by `reader`, so only the claimant reads the file. */
export interface ClaimedFileBody {
  file: Deno.FsFile;
  length: number;
  reader: ReadableStreamDefaultReader<Uint8Array>;
}

const bodies = new WeakMap<Response, FileBody>();

/**
 * Notes that `response`'s body is the `length` bytes of `file` from its current position, and
 * that cancelling `response.body` closes the file.
 */
export function describeFileBody(
  response: Response,
  file: Deno.FsFile,
  length: number,
): Response {
  bodies.set(response, { file, length, stream: response.body! });
  return response;
}

/**
 * The file behind `response`'s body, if nobody has touched its stream and it is the
 * `contentLength` bytes declared; null otherwise (write `response.body` as usual). The stream
 * is locked from now on: call {@link sendFileBody}, which also closes the file.
 */
export function claimFileBody(response: Response, contentLength: number): ClaimedFileBody | null {
  const body = bodies.get(response);
  if (body === undefined || body.length !== contentLength) return null;
  // `clone()` replaces the body with a tee branch, and a read disturbs it: either way another
  // reader may share the file position.
  if (response.body !== body.stream || body.stream.locked || response.bodyUsed) return null;
  bodies.delete(response);
  return { file: body.file, length: body.length, reader: body.stream.getReader() };
}

/**
 * Bytes per read. Each async file read costs a thread-pool round trip, so fewer, larger reads
 * are cheaper (here, reading a cached file: ~780 µs of CPU per MiB in 64 KiB reads, ~320 in
 * 256 KiB ones); a client that stops reading holds at most two blocks.
 */
const BLOCK = 256 * 1024;
/**
 * Full blocks that may exist, in use or free (16 MiB). Every download gets one; a second one,
 * which lets the next read overlap the write, only within this budget. A fresh 256 KiB block
 * costs more than reading into it (the 1 MiB file bench with 50 clients spent ~10% of its time
 * allocating them with room for only 16).
 */
const MAX_BLOCKS = (16 * 1024 * 1024) / BLOCK;
/** Free full blocks, so steady downloads allocate nothing. */
const pool: Uint8Array<ArrayBuffer>[] = [];
let liveBlocks = 0;

/**
 * A block for up to `size` bytes: a free one, else a new one (sized to fit when smaller than a
 * block, and never pooled). Null when `optional` and the budget is spent.
 */
function takeBlock(size: number, optional = false): Uint8Array<ArrayBuffer> | null {
  const free = pool.pop();
  if (free !== undefined) return free;
  if (size < BLOCK) return new Uint8Array(size);
  if (optional && liveBlocks >= MAX_BLOCKS) return null;
  liveBlocks++;
  return new Uint8Array(BLOCK);
}

function returnBlock(block: Uint8Array<ArrayBuffer>): void {
  if (block.length !== BLOCK) return;
  // Blocks made past the budget (downloads' first blocks are never refused) are let go.
  if (liveBlocks > MAX_BLOCKS) liveBlocks--;
  else pool.push(block);
}

/** Fills `buffer` from the file; a file that ends first has shrunk since it was measured. */
async function readFully(file: Deno.FsFile, buffer: Uint8Array): Promise<Uint8Array> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(filled === 0 ? buffer : buffer.subarray(filled));
    if (n === null) throw new Error("the file shrank while being served");
    filled += n;
  }
  return buffer;
}

/**
 * Copies a claimed body to `write`, block by block, reading the next block while the previous
 * one is written when a second block is to be had. Resolves with the bytes written; the file is
 * closed in every case.
 */
export async function sendFileBody(
  body: ClaimedFileBody,
  write: (bytes: Uint8Array) => Promise<void>,
): Promise<number> {
  const { file, length } = body;
  const blocks: Uint8Array<ArrayBuffer>[] = [];
  let requested = 0;
  let sent = 0;
  let reading: Promise<Uint8Array> | null = null;
  const readInto = (block: Uint8Array) => {
    const size = Math.min(block.length, length - requested);
    requested += size;
    const read = readFully(file, block.subarray(0, size));
    // Handled here too: it may fail while a write is awaited, before the loop awaits it.
    read.catch(() => {});
    return read;
  };
  try {
    blocks.push(takeBlock(Math.min(BLOCK, length))!);
    reading = readInto(blocks[0]);
    while (reading !== null) {
      const bytes = await reading;
      reading = null;
      const more = requested < length;
      if (more && blocks.length === 1) {
        const spare = takeBlock(length - requested, true);
        if (spare !== null) blocks.push(spare);
      }
      if (more && blocks.length === 2) {
        reading = readInto(bytes.buffer === blocks[0].buffer ? blocks[1] : blocks[0]);
      }
      await write(bytes);
      sent += bytes.length;
      if (more && reading === null) reading = readInto(blocks[0]);
    }
    return sent;
  } finally {
    // A read in flight still fills its block: wait for it before the block is reused.
    if (reading !== null) await reading.catch(() => {});
    blocks.forEach(returnBlock);
    // The stream's cancel closes the file.
    await body.reader.cancel().catch(() => {});
  }
}
