/**
 * A calibrated drift trigger.
 *
 * Live values are cut into consecutive, non-overlapping windows of `windowSize` samples. Each window is
 * binned on the baseline histogram's edges and a statistic is computed from its bin counts (PSI, or the
 * grouped KS distance). The detector's threshold is set for a target expected run time between false alarms
 * (`ertSamples`, in samples, as Alibi Detect's online detectors), by simulation from the baseline:
 *
 * - under "no drift" a window's bin counts are Multinomial(windowSize, baseline proportions), so we draw
 *   `simulations` such windows (seeded) and compute the statistic on each: its null distribution;
 * - the alarm needs `consecutive` (k) exceeding windows in a row. For independent windows each exceeding
 *   with probability p, the expected number of windows until k in a row is L(p) = (1 - p^k) / ((1 - p)·p^k).
 *   We solve L(p) = ertSamples / windowSize for p (for k = 1, p = windowSize / ertSamples) and set the
 *   threshold to the (1 - p) quantile of the simulated null distribution.
 *
 * Because both statistics depend on the window only through its bin counts, the null distribution is the
 * exact one for the binned data (whatever the shape of the values inside a bin); the only approximation is
 * the baseline's own sampling error. Several detectors watched together (one per feature + the score) raise
 * the family's false-alarm rate; give each `ertSamples × detectors` to keep the family's (Bonferroni).
 */
import type { Histogram } from '@flywheel/contracts';
import { ksFromCounts, PSI_EPSILON, psiFromCounts, validateHistogram } from './stats';

export type WindowStatistic = 'psi' | 'ks';

export interface CalibrationOptions {
  statistic: WindowStatistic;
  windowSize: number;
  /** Expected number of samples between two false alarms of this detector on stationary data. */
  ertSamples: number;
  /** Consecutive exceeding windows needed to alarm (hysteresis). Default 1. */
  consecutive?: number;
  /** Simulated null windows. Default max(2000, 50 / p), at most 200 000. */
  simulations?: number;
  seed?: number;
}

export interface Calibration {
  statistic: WindowStatistic;
  threshold: number;
  /** Per-window exceedance probability p the threshold was set for. */
  windowAlpha: number;
  windowSize: number;
  ertSamples: number;
  consecutive: number;
  simulations: number;
}

/** Small seeded PRNG (mulberry32), so calibrations are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Expected windows until `k` consecutive exceedances when each window exceeds independently with p. */
export function expectedRunLength(p: number, k: number): number {
  if (p <= 0) return Number.POSITIVE_INFINITY;
  if (p >= 1) return k;
  return (1 - p ** k) / ((1 - p) * p ** k);
}

/** The per-window exceedance probability p with expectedRunLength(p, k) = windows (bisection; L is decreasing). */
export function windowAlphaFor(windows: number, k: number): number {
  if (!(windows > k)) throw new RangeError(`an expected run time of ${windows} windows is too short for k = ${k}`);
  if (k === 1) return 1 / windows;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (expectedRunLength(mid, k) > windows) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The statistic of one window's bin counts against the baseline counts. */
export function windowStatistic(
  statistic: WindowStatistic,
  baselineCounts: ArrayLike<number>,
  counts: ArrayLike<number>,
): number {
  return statistic === 'psi'
    ? psiFromCounts(baselineCounts, counts, PSI_EPSILON)
    : ksFromCounts(baselineCounts, counts);
}

/** Draws Multinomial(n, proportions of `counts`) bin counts, by inverse-CDF sampling. */
export function sampleWindowCounts(counts: ArrayLike<number>, n: number, random: () => number): number[] {
  const cdf: number[] = [];
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    total += counts[i];
    cdf.push(total);
  }
  const out = new Array<number>(counts.length).fill(0);
  for (let s = 0; s < n; s++) {
    const u = random() * total;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    out[lo]++;
  }
  return out;
}

/** Sets a detector's threshold for its target false-alarm rate by simulating null windows (see the module doc). */
export function calibrateThreshold(baseline: Histogram, options: CalibrationOptions): Calibration {
  validateHistogram(baseline);
  const total = baseline.counts.reduce((s, c) => s + c, 0);
  if (total <= 0) throw new RangeError(`baseline ${baseline.name} is empty`);
  const k = options.consecutive ?? 1;
  if (!(options.windowSize >= 1)) throw new RangeError('windowSize must be ≥ 1');
  const windowAlpha = windowAlphaFor(options.ertSamples / options.windowSize, k);
  const simulations = options.simulations ?? Math.min(200_000, Math.max(2000, Math.ceil(50 / windowAlpha)));
  const random = seededRandom(options.seed ?? 1);
  const values = new Float64Array(simulations);
  for (let i = 0; i < simulations; i++) {
    const counts = sampleWindowCounts(baseline.counts, options.windowSize, random);
    values[i] = windowStatistic(options.statistic, baseline.counts, counts);
  }
  values.sort();
  // the smallest value exceeded by at most a fraction windowAlpha of the simulated windows
  const index = Math.min(simulations - 1, Math.ceil((1 - windowAlpha) * simulations) - 1);
  // values equal to the threshold do not exceed it (drift is value > threshold), so ties only make the
  // simulated exceedance rate smaller than windowAlpha, never larger
  const threshold = values[Math.max(0, index)];
  return {
    statistic: options.statistic,
    threshold,
    windowAlpha,
    windowSize: options.windowSize,
    ertSamples: options.ertSamples,
    consecutive: k,
    simulations,
  };
}

/** One detector's verdict on one window. A window drifts when value > threshold. */
export interface DetectorReading {
  detector: string;
  feature: string | null;
  statistic: string;
  value: number;
  threshold: number;
}

export interface TriggerOptions {
  /** Consecutive drifted windows of the same detector before firing (hysteresis). */
  consecutive: number;
  /** Windows with fewer samples than this are reported but never count towards (or against) a trigger. */
  minSamples: number;
  /** After firing (or `reset`, e.g. on a promotion), ignore windows ending before now + cooldownMs. */
  cooldownMs: number;
}

export interface TriggerWindow {
  start: number;
  end: number;
  samples: number;
  readings: DetectorReading[];
}

export interface TriggerEvidence extends DetectorReading {
  window_start: number;
  window_end: number;
  samples: number;
  /** Consecutive drifted windows of this detector, including this one. */
  run: number;
}

export type TriggerDecision =
  | { fired: true; evidence: TriggerEvidence[] }
  | { fired: false; reason: 'drift-not-sustained' | 'too-few-samples' | 'cooldown' };

/**
 * Hysteresis, minimum sample count and cooldown over windows of detector readings. Fires when some detector
 * has drifted in `consecutive` windows in a row; the evidence is every detector at its k-th drifted window
 * (with the first window of the run as window_start). Deterministic: time comes from the windows.
 */
export class DriftTrigger {
  private readonly runs = new Map<string, { run: number; start: number }>();
  private quietUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: TriggerOptions) {
    if (!(options.consecutive >= 1)) throw new RangeError('consecutive must be ≥ 1');
  }

  /**
   * Starts a cooldown from `now` and forgets runs (after a request, or when a new version is promoted);
   * `cooldownMs` overrides the configured one (e.g. a different quiet period after a promotion).
   */
  reset(now: number, cooldownMs = this.options.cooldownMs): void {
    this.runs.clear();
    this.quietUntil = now + cooldownMs;
  }

  /** Current run length per detector (for reports). */
  run(detector: string): number {
    return this.runs.get(detector)?.run ?? 0;
  }

  observe(window: TriggerWindow): TriggerDecision {
    if (window.samples < this.options.minSamples) return { fired: false, reason: 'too-few-samples' };
    if (window.end < this.quietUntil) {
      this.runs.clear();
      return { fired: false, reason: 'cooldown' };
    }
    const evidence: TriggerEvidence[] = [];
    for (const r of window.readings) {
      if (!(r.value > r.threshold)) {
        this.runs.delete(r.detector);
        continue;
      }
      const previous = this.runs.get(r.detector);
      const current = { run: (previous?.run ?? 0) + 1, start: previous?.start ?? window.start };
      this.runs.set(r.detector, current);
      if (current.run >= this.options.consecutive) {
        evidence.push({
          ...r,
          window_start: current.start,
          window_end: window.end,
          samples: window.samples,
          run: current.run,
        });
      }
    }
    if (evidence.length === 0) return { fired: false, reason: 'drift-not-sustained' };
    this.reset(window.end);
    return { fired: true, evidence };
  }
}
