import { DLQ_SUFFIX } from '@flywheel/contracts';
import { KAFKA_CLIENT } from '@flywheel/kafka';
import { ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AlerterConfig } from '../config';
import { AlerterMetrics } from '../metrics/alerter-metrics';
import type { SeriesLabels } from '../rules/alert-rules';
import { RuleEvaluator } from '../rules/rule-evaluator';
import { ALERTER_CONFIG } from '../tokens';
import { AlertDispatcher } from './alert-dispatcher.service';

/**
 * Owns the rule evaluator and its two clocks: rule evaluation every ALERT_EVAL_INTERVAL_MS, and source
 * traffic sampling (high-watermark deltas of each DLQ's source topic) every TRAFFIC_SAMPLE_INTERVAL_MS.
 */
@Injectable()
export class AlertingService implements OnApplicationShutdown {
  readonly evaluator: RuleEvaluator;
  private readonly admin: Admin;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly lastHigh = new Map<string, number>();
  private dlqTopics: readonly string[] = [];
  private adminConnected = false;

  constructor(
    @Inject(ALERTER_CONFIG) private readonly config: AlerterConfig,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    private readonly dispatcher: AlertDispatcher,
    private readonly metrics: AlerterMetrics,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.evaluator = new RuleEvaluator({
      rules: [...config.rules],
      bucketMs: config.WINDOW_BUCKET_MS,
      topicPrefix: config.TOPIC_PREFIX,
    });
    this.admin = kafka.admin();
  }

  async start(): Promise<void> {
    await this.admin.connect();
    this.adminConnected = true;
    this.every(this.config.ALERT_EVAL_INTERVAL_MS, async () => this.evaluate());
    this.every(this.config.TRAFFIC_SAMPLE_INTERVAL_MS, () => this.sampleTraffic());
  }

  /** The DLQ topics consumed now; their source topics are sampled for traffic. */
  setDlqTopics(dlqTopics: readonly string[]): void {
    this.dlqTopics = dlqTopics;
    void this.sampleTraffic().catch(() => undefined);
  }

  deadLetter(labels: SeriesLabels, failureTime: number): void {
    this.metrics.deadLetters.inc(labels);
    this.evaluator.recordDeadLetter(labels, failureTime, Date.now());
  }

  newKind(labels: SeriesLabels): void {
    this.dispatcher.publish(this.evaluator.newKind(labels, Date.now()));
  }

  evaluate(now = Date.now()): void {
    this.dispatcher.publish(this.evaluator.evaluate(now));
    const widest = Math.max(
      this.config.WINDOW_BUCKET_MS,
      ...this.config.rules.flatMap((r) => (r.type === 'first-seen' ? [] : [r.window])),
    );
    this.metrics.windowCount.reset();
    for (const { labels, count } of this.evaluator.deadLetters.sums(widest, now)) {
      this.metrics.windowCount.set(labels, count);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    if (this.adminConnected) await this.admin.disconnect();
  }

  private async sampleTraffic(): Promise<void> {
    if (!this.adminConnected) return;
    const now = Date.now();
    const existing = new Set(await this.admin.listTopics());
    for (const dlq of this.dlqTopics) {
      const dlqOffsets = await this.admin.fetchTopicOffsets(dlq);
      this.metrics.topicMessages.set(
        { dlq_topic: dlq },
        dlqOffsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
      );
      const source = dlq.slice(0, -DLQ_SUFFIX.length);
      if (!existing.has(source)) continue;
      const offsets = await this.admin.fetchTopicOffsets(source);
      const high = offsets.reduce((n, p) => n + Number(p.high), 0);
      const previous = this.lastHigh.get(source);
      this.lastHigh.set(source, high);
      // The first sample is the baseline: what was appended before the alerter watched is not traffic "now".
      if (previous !== undefined) this.evaluator.recordTraffic(source, Math.max(0, high - previous), now);
    }
  }

  private every(intervalMs: number, task: () => Promise<void> | void): void {
    let running = false;
    const timer = setInterval(async () => {
      if (running) return;
      running = true;
      try {
        await task();
      } catch (error) {
        this.logger.warn({ error }, 'alerting task failed; will run again');
      } finally {
        running = false;
      }
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }
}
