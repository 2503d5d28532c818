import { describe, expect, it } from 'vitest';
import { EventTimeWindow } from './event-time-window';

describe('EventTimeWindow', () => {
  it('closes by count when traffic is dense', () => {
    const window = new EventTimeWindow(1, 3, 60_000);
    const closed = [1, 2, 3, 4, 5, 6, 7].flatMap((i) => window.add(1000 + i, [i]));
    expect(closed.map((w) => [Array.from(w.columns[0]), w.closedBy])).toEqual([
      [[1, 2, 3], 'count'],
      [[4, 5, 6], 'count'],
    ]);
    expect(window.count).toBe(1);
  });

  it('closes by event time when a sample lies the span or more after the first one; that sample opens the next', () => {
    const window = new EventTimeWindow(2, 100, 60_000);
    expect(window.add(0, [1, 10])).toEqual([]);
    expect(window.add(59_999, [2, 20])).toEqual([]);
    const [closed] = window.add(60_000, [3, 30]);
    expect(closed).toMatchObject({ count: 2, start: 0, end: 59_999, closedBy: 'time' });
    expect(closed.columns.map((c) => Array.from(c))).toEqual([
      [1, 2],
      [10, 20],
    ]);
    expect(window.peek()).toMatchObject({ count: 1, start: 60_000, end: 60_000 });
  });

  it('measures the span from the first sample, so an out-of-order older sample joins the open window', () => {
    const window = new EventTimeWindow(1, 100, 1000);
    window.add(5000, [1]);
    expect(window.add(4200, [2])).toEqual([]); // late, but the window was opened at 5000
    const [closed] = window.add(6000, [3]);
    expect(closed).toMatchObject({ count: 2, start: 4200, end: 5000 });
  });

  it('span 0 closes by count only, however far apart the samples are', () => {
    const window = new EventTimeWindow(1, 2, 0);
    expect(window.add(0, [1])).toEqual([]);
    expect(window.add(86_400_000 * 365, [2])).toHaveLength(1);
  });
});
