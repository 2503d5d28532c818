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
 * exact one for the binned data (whatever the shape of the values inside a bin) — given the true bin
 * proportions. The baseline only estimates them: its counts come from a finite training set, and every live
 * window is compared with that one estimate, so its sampling error adds to the window's. Drawing the windows
 * from the baseline proportions as if they were exact under-states the null spread (measured: a baseline of
 * 20,000 rows and windows of 2,000 exceeded a 3% threshold in 5–10% of stationary windows, ~10× the false
 * alarms with k = 3). So by default each simulated window first draws plausible true proportions
 * p* ~ Dirichlet(baseline counts + ½) (the Jeffreys posterior) and then the window from Multinomial(n, p*):
 * the posterior-predictive null of "live data and baseline come from the same distribution".
 *
 * Several detectors watched together (one per feature + the score) raise the family's false-alarm rate; give
 * each `ertSamples × detectors` to keep the family's (Bonferroni).
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
  /**
   * Account for the baseline's own sampling error (module doc). Default true; false treats the baseline
   * proportions as exact (right only for a baseline far larger than the window).
   */
  baselineUncertainty?: boolean;
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

/** Proportions drawn from Dirichlet(counts + prior), by normalised Gamma(counts_i + prior, 1) draws. */
export function sampleDirichlet(counts: ArrayLike<number>, prior: number, random: () => number): number[] {
  const out = new Array<number>(counts.length);
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    out[i] = sampleGamma(counts[i] + prior, random);
    total += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 via Gamma(shape + 1)·U^(1/shape). */
export function sampleGamma(shape: number, random: () => number): number {
  if (!(shape > 0)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(shape + 1, random) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
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
  const uncertain = options.baselineUncertainty ?? true;
  const values = new Float64Array(simulations);
  for (let i = 0; i < simulations; i++) {
    const proportions = uncertain ? sampleDirichlet(baseline.counts, 0.5, random) : baseline.counts;
    const counts = sampleWindowCounts(proportions, options.windowSize, random);
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

/**
 * A detector's calibrations for windows of varying size: a window limited by time closes with fewer samples
 * than `windowSize`. Thresholds are calibrated lazily for windowSize, windowSize/2, windowSize/4, … and
 * `minSamples`; a window of n samples uses the largest calibrated size ≤ n. That threshold is the one for
 * fewer samples (a wider null distribution) and a smaller per-window alpha (each window of size m gets
 * windowAlphaFor(ertSamples / m, k), so windows of any size spend the same false-alarm budget per sample):
 * both make it higher than one calibrated at n exactly, so rounding only lowers the false-alarm rate.
 */
export class WindowCalibrations {
  readonly sizes: number[];
  private readonly cache = new Map<number, Calibration>();

  constructor(
    private readonly baseline: Histogram,
    private readonly options: CalibrationOptions & { minSamples: number },
  ) {
    const sizes: number[] = [];
    for (let m = options.windowSize; m >= options.minSamples && m >= 1; m = Math.floor(m / 2)) sizes.push(m);
    if (options.minSamples < options.windowSize && sizes[sizes.length - 1] !== options.minSamples) {
      sizes.push(Math.max(1, options.minSamples));
    }
    this.sizes = sizes;
  }

  /** The calibration of a full window (calibrated at once, so start-up logs and metrics can show it). */
  get full(): Calibration {
    return this.at(this.options.windowSize);
  }

  /** The calibration to judge a window of `samples` samples; undefined below minSamples (never judged). */
  for(samples: number): Calibration | undefined {
    const size = this.sizes.find((m) => m <= samples);
    return size === undefined ? undefined : this.at(size);
  }

  private at(size: number): Calibration {
    let calibration = this.cache.get(size);
    if (!calibration) {
      calibration = calibrateThreshold(this.baseline, {
        ...this.options,
        windowSize: size,
        seed: (this.options.seed ?? 1) + size,
      });
      this.cache.set(size, calibration);
    }
    return calibration;
  }
}

/**
 * One detector's verdict on one window. A window drifts when value > threshold, or value < threshold for
 * `direction: 'below'` (a quality metric that should stay high).
 */
export interface DetectorReading {
  detector: string;
  feature: string | null;
  statistic: string;
  value: number;
  threshold: number;
  direction?: 'above' | 'below';
}

/** Whether a reading counts as drifted (NaN never does). */
export function isDrifted(reading: DetectorReading): boolean {
  return reading.direction === 'below' ? reading.value < reading.threshold : reading.value > reading.threshold;
}

export interface TriggerOptions {
  /** Consecutive drifted windows of the same detector before firing (hysteresis). */
  consecutive: number;
  /** Windows with fewer samples than this are reported but never count towards (or against) a trigger. */
  minSamples: number;
  /**
   * After firing (or `reset`, e.g. on a promotion), ignore windows ending before then + cooldownMs. Times are
   * the windows' own (event time): the trigger never reads a clock.
   */
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
   * Starts a cooldown from `now` (event time) and forgets runs (after a request, or when a new version is
   * promoted); `cooldownMs` overrides the configured one (e.g. a different quiet period after a promotion).
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
      if (!isDrifted(r)) {
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
