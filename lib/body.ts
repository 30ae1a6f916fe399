/**
 * A fast path for response bodies that are already in memory.
 *
 * A `Response` built from a string or bytes holds them in memory, but the only public way to
 * read them is through `response.body`, a `ReadableStream` created on demand and read with two
 * promise round trips. That costs more than writing the bytes to the socket. `Deno.serve` reads
 * such bodies directly from the response's internal state; this module does the same, guarded:
 * at start-up it probes what the runtime stores and only uses what it finds exactly as expected.
 * If a Deno release stores bodies differently, the probe fails and every body takes the public
 * stream path, which is always correct, only slower.
 *
 * @module
 */

interface InnerBody {
  streamOrStatic: { body: Uint8Array | string; consumed: boolean } | ReadableStream;
}

interface Probe {
  inner: symbol;
  lazy: symbol;
}

function find(response: Response, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(response).find((s) => s.description === description);
}

function probe(): Probe | null {
  try {
    const text = new Response("probe");
    const bytes = new Response(new Uint8Array([7, 8]));
    const inner = find(bytes, "response");
    const lazy = find(text, "lazy static body");
    if (inner === undefined || lazy === undefined) return null;
    // deno-lint-ignore no-explicit-any
    if ((text as any)[lazy] !== "probe") return null;
    // deno-lint-ignore no-explicit-any
    const body = (bytes as any)[inner]?.body as InnerBody | null | undefined;
    const source = body?.streamOrStatic;
    if (
      source === undefined || source instanceof ReadableStream ||
      !(source.body instanceof Uint8Array) ||
      source.body[0] !== 7 || source.consumed !== false
    ) return null;
    // Reading the public stream must clear what we would read, or we could send a body twice.
    text.body;
    // deno-lint-ignore no-explicit-any
    if ((text as any)[lazy] !== null && (text as any)[lazy] !== undefined) return null;
    return { inner, lazy };
  } catch {
    return null;
  }
}

const found = probe();

/** Whether the fast path is in use on this runtime. */
export const fastBodiesAvailable: boolean = found !== null;

/**
 * The body of `response` if it is a string or bytes that nobody has started reading, else
 * undefined (read `response.body` instead). `null` means the response has no body.
 */
export function staticBody(response: Response): string | Uint8Array | null | undefined {
  if (found === null) return undefined;
  // deno-lint-ignore no-explicit-any
  const r = response as any;
  const lazy = r[found.lazy];
  if (typeof lazy === "string") return lazy;
  const body = r[found.inner]?.body as InnerBody | null | undefined;
  if (body === null) return null;
  const source = body?.streamOrStatic;
  if (source === undefined || source instanceof ReadableStream || source.consumed) return undefined;
  // Text given with an init dictionary is kept as a string until read.
  if (typeof source.body === "string") return source.body;
  if (!(source.body instanceof Uint8Array)) return undefined;
  return source.body;
}
