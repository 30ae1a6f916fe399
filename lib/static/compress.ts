/**
 * Compressing with the runtime's `CompressionStream`: a stream (gzip for big files) or a small
 * file's bytes at once (gzip or brotli, compressed once per version of the file and cached).
 * Brotli streams cost several times gzip's CPU for little gain, hence brotli only for small files
 * (numbers in docs/static.md). Which coding a request gets is negotiate.ts's business.
 *
 * @module
 */

/** A content coding this server produces or finds precompressed on disk. */
export type Coding = "br" | "gzip";

/** Whether the runtime's `CompressionStream` does brotli (Deno does; the standard only has gzip). */
export const BROTLI_STREAMS: boolean = (() => {
  try {
    new CompressionStream("brotli" as CompressionFormat);
    return true;
  } catch {
    return false;
  }
})();

/**
 * A stream compressed with `coding`. Cancelling the result cancels `source`, so a file behind it
 * is closed when the client goes away.
 *
 * @example
 * ```ts
 * import { compressStream } from "./compress.ts";
 * const body = compressStream(new Blob(["hello"]).stream(), "gzip");
 * ```
 */
export function compressStream(
  source: ReadableStream<Uint8Array<ArrayBuffer>>,
  coding: Coding,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const format = (coding === "br" ? "brotli" : "gzip") as CompressionFormat;
  return source.pipeThrough(new CompressionStream(format));
}

/**
 * `bytes` compressed with `coding`, in one buffer (for small files, whose compressed bytes are
 * cached).
 *
 * @example
 * ```ts
 * import { compressBytes } from "./compress.ts";
 * const gz = await compressBytes(new TextEncoder().encode("hello ".repeat(100)), "gzip");
 * ```
 */
export async function compressBytes(
  bytes: Uint8Array<ArrayBuffer>,
  coding: Coding,
): Promise<Uint8Array<ArrayBuffer>> {
  const stream = compressStream(new Blob([bytes]).stream(), coding);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
