/**
 * Rate limiting per client as token buckets: each client may burst up to `burst` requests, and
 * earns `rate` more per second. Past that, 429 with `Retry-After` (RFC 6585 §4).
 *
 * @module
 */

import { clientAddress, TrustedProxies } from "./clientip.ts";
import type { Handler } from "./types.ts";

/** Options for {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens earned per second. */
  rate: number;
  /** Bucket size: the most requests allowed at once. */
  burst: number;
  /** Buckets kept at most; the least recently used is forgotten first. @default {100000} */
  maxKeys?: number;
  /** The clock, in milliseconds (tests inject one). @default {Date.now} */
  now?: () => number;
}

/** What {@link RateLimiter.take} decided. */
export interface RateDecision {
  /** Whether the request may go ahead. */
  allowed: boolean;
  /** Whole tokens left. */
  remaining: number;
  /** Seconds until a token is available (at least 1 when refused, 0 when allowed). */
  retryAfter: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Token buckets keyed by client. Memory stays bounded however many keys appear: a Map kept in
 * least-recently-used order drops its oldest bucket past `maxKeys` (a forgotten bucket comes
 * back full, which is what an idle client would have earned anyway).
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./ratelimit.ts";
 * const limiter = new RateLimiter({ rate: 1, burst: 2 });
 * limiter.take("1.2.3.4").allowed; // true
 * ```
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** Buckets that refill at `options.rate` per second up to `options.burst`. */
  constructor(options: RateLimiterOptions) {
    if (!(options.rate > 0) || !(options.burst >= 1)) {
      throw new RangeError("rate must be positive and burst at least 1");
    }
    this.#rate = options.rate;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Buckets currently kept. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes a token for `key` if there is one. */
  take(key: string): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updated: now };
    } else {
      this.#buckets.delete(key); // re-inserted below: Map order is recency order
      const earned = ((now - bucket.updated) / 1000) * this.#rate;
      bucket.tokens = Math.min(this.#burst, bucket.tokens + earned);
      bucket.updated = now;
    }
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfter: 0 };
    }
    const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
    return { allowed: false, remaining: 0, retryAfter: wait };
  }
}

/** Options for {@link rateLimit}. */
export interface RateLimitOptions extends RateLimiterOptions {
  /** Proxies whose forwarding headers name the client. @default none */
  trusted?: TrustedProxies;
}

/**
 * Wraps a handler so each client (by address, see `clientAddress`) gets at most `rate`
 * requests per second with bursts of `burst`; past that, 429 with `Retry-After`.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * import { rateLimit } from "./ratelimit.ts";
 * serve({ port: 8080 }, rateLimit(() => new Response("ok"), { rate: 10, burst: 20 }));
 * ```
 */
export function rateLimit(handler: Handler, options: RateLimitOptions): Handler {
  const limiter = new RateLimiter(options);
  const trusted = options.trusted ?? new TrustedProxies();
  return (request, info) => {
    const decision = limiter.take(clientAddress(request, info.remoteAddr, trusted));
    if (decision.allowed) return handler(request, info);
    return new Response("429 Too Many Requests\n", {
      status: 429,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "retry-after": String(decision.retryAfter),
      },
    });
  };
}
