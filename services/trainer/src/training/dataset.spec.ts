import type { TrainingRow } from '@flywheel/features';
import { describe, expect, it } from 'vitest';
import { histogram, precisionRecallAt, splitByTime, usableRows } from './dataset';

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

describe('baseline histograms', () => {
  it('bins on the shared quantile edges (libs/ml): equal-frequency bins for a continuous feature', () => {
    const values = Array.from({ length: 100 }, (_, i) => 99 - i);
    expect(histogram('x', values, 4)).toEqual({
      name: 'x',
      bin_edges: [0, 24.75, 49.5, 74.25, 99],
      counts: [25, 25, 25, 25],
    });
  });

  it('keeps a rare flag in a bin of its own, so the monitor can see its share move', () => {
    const flag = [...Array(95).fill(0), ...Array(5).fill(1)];
    expect(histogram('is_foreign', flag, 10)).toEqual({ name: 'is_foreign', bin_edges: [0, 1, 2], counts: [95, 5] });
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
