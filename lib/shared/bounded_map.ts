/**
 * The one bounded cache every memo in the server uses. Caches here hold answers that are cheap to
 * work out again (a normalised origin, a path's safety verdict, a stat), keyed by what a client
 * sends: a bound keeps a client that sends endless distinct keys from growing memory, and
 * forgetting everything at the bound costs that client nothing but a few recomputations.
 *
 * @module
 */

/** A `Map` that forgets all of its entries when a new key would take it past `limit`. */
export class BoundedMap<K, V> extends Map<K, V> {
  /** The most entries it holds. */
  readonly limit: number;

  constructor(limit: number) {
    super();
    this.limit = limit;
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}
