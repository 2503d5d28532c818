/**
 * A bounded LRU map with a per-entry time to live. Map keeps insertion order, so re-inserting on a hit
 * moves the key to the young end and the first key is always the least recently used.
 */
export class LruCache<K, V> {
  /** `used`: read since it was last set (a refresh-ahead candidate: something still needs it). */
  private readonly entries = new Map<K, { value: V; expiresAt: number; used: boolean }>();

  constructor(
    readonly maxEntries: number,
    /** 0 disables expiry. */
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /** The live entry for `key`, or undefined (missing or expired; an expired entry is dropped). */
  get(key: K): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.ttlMs > 0 && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    entry.used = true;
    return { value: entry.value };
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs, used: false });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  /** Keys read since they were set whose entry expires within `withinMs` (none when expiry is off). */
  expiringUsedKeys(withinMs: number): K[] {
    if (this.ttlMs <= 0) return [];
    const horizon = this.now() + withinMs;
    const keys: K[] = [];
    for (const [key, entry] of this.entries) if (entry.used && entry.expiresAt <= horizon) keys.push(key);
    return keys;
  }

  /** Replaces the value of a key still cached, with a new TTL and its recency unchanged; false if it is gone. */
  renew(key: K, value: V): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    entry.value = value;
    entry.expiresAt = this.now() + this.ttlMs;
    entry.used = false;
    return true;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
