import { createMetricsRegistry } from '@flywheel/observability';
import { describe, expect, it } from 'vitest';
import { BatchScorerMetrics } from '../metrics/batch-scorer.metrics';
import { formatDuration, formatProgress, ProgressReporter } from './progress-reporter';

describe('progress', () => {
  it('formats done / total, rate, ETA and skips', () => {
    expect(
      formatProgress('run', { done: 123_456, total: 1_000_000, skipped: 12, rate: 45_678.4, etaSeconds: 19.2 }),
    ).toBe('run  123,456 / 1,000,000 rows (12.3%)  45,678 rows/s  ETA 0:19  skipped 12');
    expect(formatProgress('run', { done: 5, total: null, skipped: 0, rate: 0, etaSeconds: null })).toBe(
      'run  5 / ? rows  0 rows/s  ETA ?  skipped 0',
    );
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(59.6)).toBe('1:00');
  });

  it('counts rows resumed from a checkpoint as done but not in this process rate, and feeds the gauges', async () => {
    const registry = createMetricsRegistry('progress-test');
    const metrics = new BatchScorerMetrics(registry);
    const lines: string[] = [];
    const stream = { write: (line: string) => lines.push(line) > 0, isTTY: false } as unknown as NodeJS.WritableStream;
    const before = performance.now();
    const reporter = new ProgressReporter({
      label: 'r',
      doneAtStart: 400,
      skippedAtStart: 3,
      intervalMs: 60_000,
      stream,
      metrics,
    });
    reporter.setTotal(1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    reporter.add(100, 1);
    const snapshot = reporter.snapshot();
    const outerSeconds = (performance.now() - before) / 1000;
    expect(snapshot.done).toBe(500);
    expect(snapshot.skipped).toBe(4);
    // The reporter's own elapsed time is within ours (a timer may fire a little early, so no fixed 20 ms bound):
    // 100 rows of this process give at least 100/outer; counting the 400 resumed ones would give at least
    // 500/outer, which the rate must stay below.
    expect(snapshot.rate).toBeGreaterThanOrEqual(100 / outerSeconds);
    expect(snapshot.rate).toBeLessThan(500 / outerSeconds);
    expect(snapshot.etaSeconds).toBeCloseTo(500 / snapshot.rate, 0);
    reporter.stop();
    expect(lines.at(-1)).toMatch(/^r {2}500 \/ 1,000 rows \(50\.0%\)/);
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_batch_scorer_rows_done\{[^}]*\} 500/);
    expect(text).toMatch(/flywheel_batch_scorer_rows_total_expected\{[^}]*\} 1000/);
  });
});
