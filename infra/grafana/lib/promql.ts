/**
 * The few PromQL shapes the dashboards use, so every panel aggregates the same way: rates over Grafana's
 * $__rate_interval, histograms summed by `le` before histogram_quantile, gauges reduced with max (a series
 * reported twice during a rebalance or a scrape overlap must not add up).
 */

/** Grafana replaces these at query time (tests substitute fixed windows). */
export const RATE_WINDOW = '$__rate_interval';
export const RANGE_WINDOW = '$__range';

/** `metric{matchers}`; matchers are PromQL label matchers, e.g. 'service="collector", mode="stream"'. */
export function series(metric: string, matchers = ''): string {
  return matchers ? `${metric}{${matchers}}` : metric;
}

function aggregate(op: 'sum' | 'max' | 'min' | 'count', by: string[], expr: string): string {
  return by.length > 0 ? `${op} by (${by.join(', ')}) (${expr})` : `${op}(${expr})`;
}

/** Per-second rate of a counter, summed by `by`. */
export function rate(metric: string, matchers = '', by: string[] = []): string {
  return aggregate('sum', by, `rate(${series(metric, matchers)}[${RATE_WINDOW}])`);
}

/** How much a counter grew over the dashboard's time range, summed by `by` (rare events: swaps, requests). */
export function increaseOverRange(metric: string, matchers = '', by: string[] = []): string {
  return aggregate('sum', by, `increase(${series(metric, matchers)}[${RANGE_WINDOW}])`);
}

/** A gauge reduced with max by `by`. */
export function gaugeMax(metric: string, matchers = '', by: string[] = []): string {
  return aggregate('max', by, series(metric, matchers));
}

export function gaugeSum(metric: string, matchers = '', by: string[] = []): string {
  return aggregate('sum', by, series(metric, matchers));
}

/** The q-quantile of a histogram (`metric` without `_bucket`) over the rate window, per `by`. */
export function quantile(q: number, metric: string, matchers = '', by: string[] = []): string {
  return `histogram_quantile(${q}, ${aggregate('sum', [...by, 'le'], `rate(${series(`${metric}_bucket`, matchers)}[${RATE_WINDOW}])`)})`;
}
