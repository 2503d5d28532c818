/**
 * A count over a sliding time window kept as a ring of fixed buckets (e.g. 10 s): adding is O(1), a sum
 * over the last W ms reads W / bucket buckets. Buckets older than the ring span are overwritten; counts
 * with a time outside the ring (too old, or in the future beyond the current bucket) are ignored/clamped.
 */
export class SlidingCounter {
  private readonly counts: Float64Array;
  private readonly ids: Float64Array;

  constructor(
    readonly bucketMs: number,
    readonly spanMs: number,
  ) {
    const size = Math.max(1, Math.ceil(spanMs / bucketMs)) + 1;
    this.counts = new Float64Array(size);
    this.ids = new Float64Array(size).fill(-1);
  }

  /** Adds `n` at time `at` (clamped to `now`); returns false when `at` is older than the ring. */
  add(at: number, n: number, now: number): boolean {
    const t = Math.min(at, now);
    const id = Math.floor(t / this.bucketMs);
    const newest = Math.floor(now / this.bucketMs);
    if (id <= newest - this.counts.length) return false;
    const slot = id % this.counts.length;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.counts[slot] = 0;
    }
    this.counts[slot] += n;
    return true;
  }

  /** Sum of the buckets overlapping (now - windowMs, now]: bucket granularity, whole buckets. */
  sum(windowMs: number, now: number): number {
    const newest = Math.floor(now / this.bucketMs);
    const buckets = Math.min(this.counts.length, Math.max(1, Math.ceil(windowMs / this.bucketMs)));
    let total = 0;
    for (let id = newest - buckets + 1; id <= newest; id++) {
      const slot = ((id % this.counts.length) + this.counts.length) % this.counts.length;
      if (this.ids[slot] === id) total += this.counts[slot];
    }
    return total;
  }

  /** True when nothing within the ring span is left (the series can be dropped). */
  isEmpty(now: number): boolean {
    return this.sum(this.spanMs, now) === 0;
  }
}

/** Sliding counters keyed by a label set. */
export class WindowedSeries<L extends Record<string, string>> {
  private readonly series = new Map<string, { labels: L; counter: SlidingCounter }>();

  constructor(
    private readonly bucketMs: number,
    private readonly spanMs: number,
  ) {}

  add(labels: L, at: number, n: number, now: number): boolean {
    const key = seriesKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counter: new SlidingCounter(this.bucketMs, this.spanMs) };
      this.series.set(key, entry);
    }
    return entry.counter.add(at, n, now);
  }

  /** Each series' count over the last `windowMs`; series that are empty over the whole span are pruned. */
  sums(windowMs: number, now: number): Array<{ labels: L; count: number }> {
    const out: Array<{ labels: L; count: number }> = [];
    for (const [key, { labels, counter }] of this.series) {
      if (counter.isEmpty(now)) {
        this.series.delete(key);
        continue;
      }
      out.push({ labels, count: counter.sum(windowMs, now) });
    }
    return out;
  }

  sum(labels: L, windowMs: number, now: number): number {
    return this.series.get(seriesKey(labels))?.counter.sum(windowMs, now) ?? 0;
  }
}

export function seriesKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
}
