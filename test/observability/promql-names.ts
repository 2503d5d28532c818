/**
 * Which metric names a PromQL expression reads, and which sample names a /metrics page exports, so a
 * dashboard or rule that names a metric nobody exports is caught (Prometheus would just return nothing).
 */

/** Aggregators, keywords and the like: words of PromQL that are not metric names. */
const NOT_METRICS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

/** Metric names in `expr` (without label matchers, ranges, grouping labels, strings or function names). */
export function metricNamesIn(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const match of s.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = match[0];
    if (NOT_METRICS.has(word.toLowerCase())) continue;
    if (
      s
        .slice((match.index ?? 0) + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function call
    names.add(word);
  }
  return [...names];
}

/** Sample names a /metrics page can carry, from its # TYPE lines (histograms: _bucket, _sum, _count). */
export function exportedSampleNames(metricsText: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}
