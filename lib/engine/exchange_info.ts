/**
 * The `info` a handler gets with each request, as with `Deno.serve`.
 *
 * @module
 */

import type { ServeHandlerInfo } from "../shared/types.ts";

/**
 * One per request: the peer's address, and `completed`, which settles once the response has been
 * written to the socket (or rejects with `Deno.errors.Interrupted` when it could not be). The
 * promise is made only if asked for. The engine also aborts the request's `signal` through it
 * when the client leaves first.
 */
export class ExchangeInfo implements ServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  #completion: PromiseWithResolvers<void> | null = null;
  /** Undefined while the response is on its way, null once written, the error if it failed. */
  #outcome: Error | null | undefined = undefined;
  #cancelled = false;
  #aborts: (() => void)[] | null = null;

  constructor(remoteAddr: Deno.NetAddr) {
    this.remoteAddr = remoteAddr;
  }

  /** The protocol the request came over (HTTP/2's info overrides it). */
  get protocol(): "HTTP/1.1" | "HTTP/2" {
    return "HTTP/1.1";
  }

  get completed(): Promise<void> {
    if (this.#completion === null) {
      this.#completion = Promise.withResolvers<void>();
      // A failure nobody listens for must not become an unhandled rejection.
      this.#completion.promise.catch(() => {});
      this.#apply();
    }
    return this.#completion.promise;
  }

  settle(error: Error | null): void {
    if (this.#outcome !== undefined) return;
    if (error !== null) this.cancel();
    this.#outcome = error;
    this.#aborts = null; // delivered or not, nothing is left to cancel
    this.#apply();
  }

  /** Registers what aborts the request's signal (the runtime asks when `signal` is first read). */
  onCancel(abort: () => void): void {
    if (this.#cancelled) abort();
    else if (this.#outcome === undefined) (this.#aborts ??= []).push(abort);
  }

  /** The client left before the response was written: abort the request's signal. */
  cancel(): void {
    if (this.#cancelled || this.#outcome !== undefined) return;
    this.#cancelled = true;
    for (const abort of this.#aborts ?? []) abort();
    this.#aborts = null;
  }

  #apply(): void {
    if (this.#completion === null || this.#outcome === undefined) return;
    if (this.#outcome === null) this.#completion.resolve();
    else this.#completion.reject(this.#outcome);
  }
}
