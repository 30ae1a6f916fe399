/**
 * Copying a {@link FileBody} the connection has claimed from the file to the socket: reused
 * blocks, and the next block read while the previous one is written, where pulling the stream
 * would cost a fresh buffer and several promise round trips per chunk.
 *
 * @module
 */

import { type ClaimedFile, FileBody, readFully } from "../shared/file_body.ts";

/** The file behind `response`'s body when it is an untouched {@link FileBody} of `length` bytes. */
export function claimFile(response: Response, length: number): ClaimedFile | null {
  const body = response.body;
  return body instanceof FileBody && body.length === length ? body.claim() : null;
}

/**
 * Bytes per read. Each async file read costs a thread-pool round trip, so fewer, larger reads
 * cost less CPU per byte; a client that stops reading holds at most two blocks.
 */
const BLOCK = 256 * 1024;
/**
 * Full blocks that may exist, in use or free (16 MiB). Every download gets one; a second one,
 * which lets the next read overlap the write, only within this budget. A fresh block costs more
 * than reading into it, so the budget is generous.
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

/**
 * Copies a claimed body to `write`, block by block, reading the next block while the previous
 * one is written when a second block is to be had. Resolves with the bytes written; the file is
 * closed in every case.
 */
export async function sendFileBody(
  body: ClaimedFile,
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
