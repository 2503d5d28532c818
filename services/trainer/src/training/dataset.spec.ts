import type { TrainingRow } from '@flywheel/features';
import { describe, expect, it } from 'vitest';
import {
  histogramCounts,
  precisionRecallAt,
  quantileBinEdges,
  quantileSorted,
  splitByTime,
  usableRows,
} from './dataset';

const row = (event_time: number, label = 0, features: Record<string, number> = { x: event_time }): TrainingRow => ({
  event_id: `e${event_time}`,
  entity: 'a',
  event_time,
  features,
  label,
});

describe('splitByTime', () => {
  it('puts the last fraction of the event-time span into the holdout, never an older row', () => {
    const rows = Array.from({ length: 100 }, (_, i) => row(1_000 + i * 10));
    const { train, holdout, cutoff } = splitByTime(rows, 0.2);
    // span [1000, 1990] + 1 ms = 991 ms; cut at 1000 + 0.8 * 991 = 1792.8 → 1793
    expect(cutoff).toBe(1793);
    expect(train).toHaveLength(80);
    expect(holdout).toHaveLength(20);
    expect(Math.max(...train.map((r) => r.event_time))).toBeLessThan(Math.min(...holdout.map((r) => r.event_time)));
  });

  it('splits by time, not by count: a burst at the end is all holdout', () => {
    const rows = [...Array.from({ length: 10 }, (_, i) => row(i * 100)), ...Array.from({ length: 90 }, () => row(990))];
    // span [0, 990] + 1 ms; cut at ceil(0.9 * 991) = 892: the row at 900 and the whole burst are holdout
    const { train, holdout } = splitByTime(rows, 0.1);
    expect(train.map((r) => r.event_time)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800]);
    expect(holdout).toHaveLength(91);
  });

  it('keeps rows of one instant on one side, does not depend on input order', () => {
    const rows = [row(5), row(1), row(5), row(3), row(9), row(9)];
    const a = splitByTime(rows, 0.5);
    const b = splitByTime([...rows].reverse(), 0.5);
    expect(a.cutoff).toBe(b.cutoff);
    // cut at ceil(1 + 0.5 * 9) = 6
    expect(a.train.map((r) => r.event_time).sort()).toEqual([1, 3, 5, 5]);
    expect(a.holdout.map((r) => r.event_time).sort()).toEqual([9, 9]);
  });

  it('rejects a fraction outside (0, 1) and handles no rows', () => {
    expect(() => splitByTime([row(1)], 0)).toThrow();
    expect(() => splitByTime([row(1)], 1)).toThrow();
    expect(splitByTime([], 0.2)).toMatchObject({ train: [], holdout: [] });
  });
});

describe('quantile bin edges and histogram counts', () => {
  it('interpolates quantiles like numpy (linear)', () => {
    const sorted = [1, 2, 3, 4];
    // numpy.quantile([1,2,3,4], [0, .25, .5, .9, 1]) = [1, 1.75, 2.5, 3.7, 4]
    expect([0, 0.25, 0.5, 0.9, 1].map((p) => quantileSorted(sorted, p))).toEqual([
      1,
      1.75,
      2.5,
      expect.closeTo(3.7),
      4,
    ]);
  });

  it('edges at the quantiles of 0..99 give equal-frequency bins', () => {
    const values = Array.from({ length: 100 }, (_, i) => 99 - i);
    const edges = quantileBinEdges(values, 4);
    expect(edges).toEqual([0, 24.75, 49.5, 74.25, 99]);
    expect(histogramCounts(values, edges)).toEqual([25, 25, 25, 25]);
  });

  it('collapses repeated quantiles and widens a constant variable', () => {
    const binary = [...Array(80).fill(0), ...Array(20).fill(1)];
    // quantiles 0..0.7 are all 0, 0.8 interpolates to 0.2, 0.9 and 1 are 1
    const edges = quantileBinEdges(binary, 10);
    expect(edges).toEqual([0, expect.closeTo(0.2), 1]);
    expect(histogramCounts(binary, edges)).toEqual([80, 20]);
    expect(quantileBinEdges([7, 7, 7], 5)).toEqual([7, 8]);
  });

  it('counts [e_i, e_i+1), with open-ended outer bins; counts length = edges length - 1', () => {
    const edges = [0, 10, 20, 30];
    const counts = histogramCounts([-5, 0, 9.99, 10, 19, 20, 29, 30, 1e9], edges);
    expect(counts).toEqual([3, 2, 4]);
    expect(counts.length).toBe(edges.length - 1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(9);
  });
});

describe('precisionRecallAt', () => {
  it('flags score >= threshold', () => {
    const scores = [0.9, 0.8, 0.5, 0.4, 0.1];
    const labels = [1, 0, 1, 1, 0];
    // flagged: 0.9 (tp), 0.8 (fp), 0.5 (tp); missed: 0.4 (fn)
    expect(precisionRecallAt(scores, labels, 0.5)).toEqual({ precision: 2 / 3, recall: 2 / 3 });
    expect(precisionRecallAt(scores, labels, 0.95)).toEqual({ precision: 0, recall: 0 });
  });
});

describe('usableRows', () => {
  it('drops rows missing a feature or holding a non-finite value', () => {
    const rows = [row(1, 0, { a: 1, b: 2 }), row(2, 0, { a: 1 }), row(3, 0, { a: Number.NaN, b: 1 })];
    const out = usableRows(rows, ['a', 'b']);
    expect(out.rows.map((r) => r.event_time)).toEqual([1]);
    expect(out.dropped).toBe(2);
  });
});
