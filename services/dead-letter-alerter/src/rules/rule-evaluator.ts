import { createHash, randomUUID } from 'node:crypto';
import type { Alert } from '@flywheel/contracts';
import { type AlertRule, type Dimension, matches, type SeriesLabels, type WindowedRule } from './alert-rules';
import { seriesKey, WindowedSeries } from './sliding-window';

/** Alert label names of the dimensions (Prometheus style; `kind` is spelled out as in the envelope). */
const LABEL_OF: Record<Dimension, string> = { topic: 'topic', stage: 'stage', kind: 'failure_kind' };

export interface ActiveAlert {
  rule: string;
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  severity: string;
  startsAt: number;
  /** Last evaluation at which the condition held. */
  lastTrueAt: number;
  value: number;
}

export interface RuleEvaluatorOptions {
  rules: AlertRule[];
  bucketMs: number;
  topicPrefix: string;
}

/** Stable identity of an alert: rule + labels, so FIRING and RESOLVED share it across restarts. */
export function fingerprintOf(rule: string, labels: Record<string, string>): string {
  return createHash('sha256')
    .update(`${rule}\u0001${seriesKey(labels)}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * The alerting core, free of Kafka and clocks (callers pass `now`): counts dead letters and source
 * traffic in sliding windows, evaluates the rules, and turns condition changes into alert state changes.
 * An alert fires once while its condition holds (deduplicated by fingerprint) and resolves when the
 * condition has been false for the rule's `resolveAfter`.
 */
export class RuleEvaluator {
  readonly deadLetters: WindowedSeries<SeriesLabels>;
  readonly traffic: WindowedSeries<{ topic: string }>;
  private readonly active = new Map<string, ActiveAlert>();
  private readonly rules: AlertRule[];

  constructor(private readonly options: RuleEvaluatorOptions) {
    this.rules = options.rules;
    const windows = options.rules.flatMap((r) => (r.type === 'first-seen' ? [] : [r.window]));
    const span = Math.max(options.bucketMs, ...windows);
    this.deadLetters = new WindowedSeries(options.bucketMs, span);
    this.traffic = new WindowedSeries(options.bucketMs, span);
  }

  /** A dead letter with its failure time; returns false when it is too old for every window. */
  recordDeadLetter(labels: SeriesLabels, at: number, now: number): boolean {
    return this.deadLetters.add(labels, at, 1, now);
  }

  /** Messages appended to a source topic since the previous sample. */
  recordTraffic(topic: string, appended: number, now: number): void {
    if (appended > 0) this.traffic.add({ topic }, now, appended, now);
  }

  /** A (topic, kind) never seen before: first-seen rules fire now. */
  newKind(labels: SeriesLabels, now: number): Alert[] {
    const out: Alert[] = [];
    for (const rule of this.rules) {
      if (rule.type !== 'first-seen' || !matches(rule, labels, this.options.topicPrefix)) continue;
      const alertLabels = this.labelsFor(rule, { topic: labels.topic, stage: labels.stage, kind: labels.kind }, [
        'topic',
        'kind',
      ]);
      const annotations = {
        summary: `first dead letter of kind '${labels.kind}' on ${labels.topic}`,
        description: `Stage ${labels.stage} dead-lettered a message of ${labels.topic} with failure kind '${labels.kind}', never seen before for this topic.`,
        ...rule.annotations,
      };
      const change = this.hold(rule, alertLabels, annotations, 1, now);
      if (change) out.push(change);
    }
    return out;
  }

  /** Evaluates every windowed rule at `now`; returns the alert state changes (FIRING and RESOLVED). */
  evaluate(now: number): Alert[] {
    const out: Alert[] = [];
    const holding = new Set<string>();
    for (const rule of this.rules) {
      if (rule.type === 'first-seen') continue;
      for (const { labels, value, count, source } of this.seriesOf(rule, now)) {
        if (!this.holds(rule, value, source)) continue;
        const alertLabels = this.labelsFor(rule, labels, rule.groupBy);
        const annotations = this.describe(rule, alertLabels, count, source, value);
        const fingerprint = fingerprintOf(rule.name, alertLabels);
        holding.add(fingerprint);
        const change = this.hold(rule, alertLabels, annotations, value, now);
        if (change) out.push(change);
      }
    }
    for (const [fingerprint, alert] of this.active) {
      if (holding.has(fingerprint)) continue;
      const rule = this.rules.find((r) => r.name === alert.rule);
      const resolveAfter = rule?.resolveAfter ?? 0;
      if (now - alert.lastTrueAt < resolveAfter) continue;
      this.active.delete(fingerprint);
      out.push(this.toAlert(alert, 'RESOLVED', now));
    }
    return out;
  }

  /** Alerts currently firing (for the state gauge and the API). */
  firing(): ActiveAlert[] {
    return [...this.active.values()];
  }

  private hold(
    rule: AlertRule,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    value: number,
    now: number,
  ): Alert | undefined {
    const fingerprint = fingerprintOf(rule.name, labels);
    const existing = this.active.get(fingerprint);
    if (existing) {
      existing.lastTrueAt = now;
      existing.value = value;
      return undefined;
    }
    const alert: ActiveAlert = {
      rule: rule.name,
      fingerprint,
      labels,
      annotations,
      severity: rule.severity,
      startsAt: now,
      lastTrueAt: now,
      value,
    };
    this.active.set(fingerprint, alert);
    return this.toAlert(alert, 'FIRING', now);
  }

  private seriesOf(rule: WindowedRule, now: number) {
    const grouped = new Map<string, { labels: Partial<SeriesLabels>; count: number }>();
    for (const { labels, count } of this.deadLetters.sums(rule.window, now)) {
      if (count === 0 || !matches(rule, labels, this.options.topicPrefix)) continue;
      const key: Partial<SeriesLabels> = {};
      for (const dim of rule.groupBy) key[dim] = labels[dim];
      const id = seriesKey(key as Record<string, string>);
      const entry = grouped.get(id) ?? { labels: key, count: 0 };
      entry.count += count;
      grouped.set(id, entry);
    }
    return [...grouped.values()].map(({ labels, count }) => {
      if (rule.type === 'count') return { labels, count, value: count, source: undefined };
      const source = this.traffic.sum({ topic: labels.topic ?? '' }, rule.window, now);
      // No source traffic (e.g. collector rejections never reach the topic): the value is the count.
      return { labels, count, source, value: source > 0 ? count / source : count };
    });
  }

  private holds(rule: WindowedRule, value: number, source: number | undefined): boolean {
    if (rule.type === 'ratio' && (source ?? 0) < rule.minSourceMessages) return false;
    return value > rule.threshold;
  }

  private labelsFor(rule: AlertRule, labels: Partial<SeriesLabels>, dims: readonly Dimension[]) {
    const out: Record<string, string> = { alertname: rule.name, severity: rule.severity };
    for (const dim of dims) {
      const value = labels[dim];
      if (value !== undefined) out[LABEL_OF[dim]] = value;
    }
    return out;
  }

  private describe(
    rule: WindowedRule,
    labels: Record<string, string>,
    count: number,
    source: number | undefined,
    value: number,
  ): Record<string, string> {
    const where = [labels.topic, labels.stage && `stage ${labels.stage}`, labels.failure_kind]
      .filter(Boolean)
      .join(', ');
    const window = `${Math.round(rule.window / 1000)}s`;
    const summary =
      rule.type === 'count'
        ? `${count} dead letters in ${window} (> ${rule.threshold}) on ${where}`
        : `dead-letter ratio ${value.toFixed(4)} in ${window} (> ${rule.threshold}) on ${where}`;
    const description =
      rule.type === 'count'
        ? `${count} messages were dead-lettered in the last ${window}.`
        : `${count} dead letters for ${source ?? 0} messages appended to the source topic in the last ${window}.`;
    return { summary, description, ...rule.annotations };
  }

  private toAlert(alert: ActiveAlert, status: 'FIRING' | 'RESOLVED', now: number): Alert {
    return {
      alert_id: randomUUID(),
      fingerprint: alert.fingerprint,
      rule: alert.rule,
      status,
      severity: alert.severity,
      labels: alert.labels,
      annotations: alert.annotations,
      starts_at: alert.startsAt,
      ends_at: status === 'RESOLVED' ? now : null,
      value: alert.value,
    };
  }
}
