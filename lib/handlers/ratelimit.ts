/**
 * Rate limiting per client as token buckets: each client may burst up to `burst` requests, and
 * earns `rate` more per second. Past that, 429 with `Retry-After` (RFC 6585 §4).
 *
 * @module
 */

import { addressKey, clientAddress, TrustedProxies } from "./clientip.ts";
import type { Handler, ServeHandlerInfo } from "../shared/types.ts";

/** Options for {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Tokens earned per second (may be fractional: 0.5 is one request every two seconds). */
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
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until a token is available: a whole number, at least 1 when refused, 0 when allowed. */
  retryAfter: number;
}

interface Bucket {
  tokens: number;
  updated: number;
  /** When the bucket is full again, and so can be forgotten without anyone noticing. */
  fullAt: number;
}

/** Idle buckets looked at per `take`: enough to drain them faster than new keys arrive. */
const SWEEP_PER_TAKE = 2;

/**
 * Token buckets keyed by client. Memory stays bounded however many keys appear: the Map is kept
 * in least-recently-used order (delete and set on use), buckets that have refilled are dropped
 * from the old end as requests go by (a forgotten full bucket comes back full: nothing is lost),
 * and past `maxKeys` the least recently used bucket goes even if it is not full yet.
 *
 * @example
 * ```ts
 * import { RateLimiter } from "./ratelimit.ts";
 * const limiter = new RateLimiter({ rate: 1, burst: 2 });
 * limiter.take("203.0.113.7"); // { allowed: true, remaining: 1, retryAfter: 0 }
 * limiter.take("203.0.113.7"); // { allowed: true, remaining: 0, retryAfter: 0 }
 * limiter.take("203.0.113.7"); // { allowed: false, remaining: 0, retryAfter: 1 }
 * ```
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /**
   * Buckets that refill at `options.rate` tokens per second up to `options.burst`.
   * @throws {RangeError} unless rate > 0, burst ≥ 1 and maxKeys is a whole number ≥ 1
   */
  constructor(options: RateLimiterOptions) {
    const { rate, burst, maxKeys = 100_000, now = Date.now } = options;
    if (!(rate > 0 && rate < Infinity)) throw new RangeError(`rate must be > 0, got ${rate}`);
    if (!(burst >= 1 && burst < Infinity)) throw new RangeError(`burst must be ≥ 1, got ${burst}`);
    if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) {
      throw new RangeError(`maxKeys must be a whole number ≥ 1, got ${maxKeys}`);
    }
    this.#rate = rate;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
    this.#now = now;
  }

  /** Buckets currently kept (never more than `maxKeys`). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes a token for `key` if there is one.
   * @param key who is asking: a client address, an API key…
   */
  take(key: string): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updated: now, fullAt: now };
    } else {
      this.#buckets.delete(key); // set again below: Map order is recency order
      // A clock that steps back (Date.now under NTP) earns nothing rather than taking tokens.
      const elapsed = Math.max(0, now - bucket.updated);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (elapsed / 1000) * this.#rate);
      bucket.updated = now;
    }
    this.#buckets.set(key, bucket);

    let decision: RateDecision;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      decision = { allowed: true, remaining: Math.floor(bucket.tokens), retryAfter: 0 };
    } else {
      const wait = Math.ceil((1 - bucket.tokens) / this.#rate);
      decision = { allowed: false, remaining: 0, retryAfter: Math.max(1, wait) };
    }
    bucket.fullAt = now + ((this.#burst - bucket.tokens) / this.#rate) * 1000;
    this.#evict(now);
    return decision;
  }

  /** Forgets refilled buckets at the old end, then the oldest ones past `maxKeys`. */
  #evict(now: number): void {
    let swept = 0;
    for (const [key, bucket] of this.#buckets) {
      if (swept++ === SWEEP_PER_TAKE || bucket.fullAt > now) break;
      this.#buckets.delete(key);
    }
    while (this.#buckets.size > this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
  }
}

/** Options for {@link rateLimit}. */
export interface RateLimitOptions extends RateLimiterOptions {
  /** Proxies whose forwarding headers name the client (see `clientAddress`). @default none */
  trusted?: TrustedProxies;
  /**
   * IPv6 clients share a bucket per prefix of this many bits: one host usually holds a whole
   * /64, and could otherwise take a fresh bucket per address. 128 keys each address apart.
   * @default {64}
   */
  ipv6Prefix?: number;
  /** Keys requests some other way (an API key, a user); replaces the client address. */
  key?: (request: Request, info: ServeHandlerInfo) => string;
}

/**
 * Wraps a handler so each client gets at most `rate` requests per second, with bursts of up
 * to `burst`; past that it answers 429 Too Many Requests with `Retry-After` (seconds, RFC 9110
 * §10.2.3) and `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
 * (draft-ietf-httpapi-ratelimit-headers), without calling the handler. Clients are told apart
 * by `clientAddress` (so behind a trusted proxy, by the forwarded address), IPv6 ones by /64.
 *
 * @example
 * ```ts
 * import { serve } from "../mod.ts";
 * import { rateLimit } from "./ratelimit.ts";
 * import { TrustedProxies } from "./clientip.ts";
 * const handler = () => new Response("ok");
 * serve(
 *   { port: 8080 },
 *   rateLimit(handler, { rate: 10, burst: 20, trusted: new TrustedProxies(["127.0.0.1"]) }),
 * );
 * ```
 */
export function rateLimit(handler: Handler, options: RateLimitOptions): Handler {
  const limiter = new RateLimiter(options);
  const trusted = options.trusted ?? new TrustedProxies();
  const prefix = options.ipv6Prefix ?? 64;
  if (!(Number.isInteger(prefix) && prefix >= 0 && prefix <= 128)) {
    throw new RangeError(`ipv6Prefix must be a whole number from 0 to 128, got ${prefix}`);
  }
  const keyOf = options.key ??
    ((request: Request, info: ServeHandlerInfo) =>
      addressKey(clientAddress(request, info.remoteAddr, trusted), prefix));
  const limit = String(Math.floor(options.burst));
  return (request, info) => {
    const decision = limiter.take(keyOf(request, info));
    if (decision.allowed) return handler(request, info);
    const retryAfter = String(decision.retryAfter);
    return new Response("429 Too Many Requests\n", {
      status: 429,
      statusText: "Too Many Requests",
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "retry-after": retryAfter,
        "ratelimit-limit": limit,
        "ratelimit-remaining": "0",
        "ratelimit-reset": retryAfter,
      },
    });
  };
}
