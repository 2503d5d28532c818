import { METRICS_REGISTRY } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * flywheel_dlq_* series. Labels are bounded: topic (source topic of the dead letter), stage, kind
 * (failure kinds are an open set, but a small one), rule; never keys or event ids.
 */
@Injectable()
export class AlerterMetrics {
  readonly deadLetters: Counter<'topic' | 'stage' | 'kind'>;
  readonly windowCount: Gauge<'topic' | 'stage' | 'kind'>;
  readonly undecodable: Counter<'dlq_topic'>;
  readonly dlqTopics: Gauge;
  readonly topicMessages: Gauge<'dlq_topic'>;
  readonly alertState: Gauge<'rule' | 'topic' | 'stage' | 'kind'>;
  readonly alertTransitions: Counter<'rule' | 'status'>;
  readonly deliveries: Counter<'sink' | 'outcome'>;
  readonly outboxSize: Gauge<'sink'>;
  readonly replayed: Counter<'dlq_topic' | 'outcome'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.deadLetters = new Counter({
      name: 'flywheel_dlq_messages_total',
      help: 'Dead letters read from *.dlq topics, by source topic, stage and failure kind',
      labelNames: ['topic', 'stage', 'kind'],
      registers,
    });
    this.windowCount = new Gauge({
      name: 'flywheel_dlq_window_messages',
      help: 'Dead letters in the widest rule window, by source topic, stage and failure kind',
      labelNames: ['topic', 'stage', 'kind'],
      registers,
    });
    this.undecodable = new Counter({
      name: 'flywheel_dlq_undecodable_messages_total',
      help: 'Records of a DLQ topic that are not a DeadLetter envelope (counted and skipped)',
      labelNames: ['dlq_topic'],
      registers,
    });
    this.dlqTopics = new Gauge({
      name: 'flywheel_dlq_topics',
      help: 'DLQ topics currently consumed',
      registers,
    });
    this.topicMessages = new Gauge({
      name: 'flywheel_dlq_topic_messages',
      help: 'Records retained in a DLQ topic (high minus low watermark)',
      labelNames: ['dlq_topic'],
      registers,
    });
    this.alertState = new Gauge({
      name: 'flywheel_dlq_alert_state',
      help: 'Alert state by rule and labels: 1 firing, 0 resolved',
      labelNames: ['rule', 'topic', 'stage', 'kind'],
      registers,
    });
    this.alertTransitions = new Counter({
      name: 'flywheel_dlq_alert_transitions_total',
      help: 'Alert state changes emitted (FIRING, RESOLVED)',
      labelNames: ['rule', 'status'],
      registers,
    });
    this.deliveries = new Counter({
      name: 'flywheel_dlq_alert_deliveries_total',
      help: 'Alert delivery attempts per sink (alerts topic, webhooks) by outcome',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    this.outboxSize = new Gauge({
      name: 'flywheel_dlq_alert_outbox_notifications',
      help: 'Alert notifications waiting for delivery per sink',
      labelNames: ['sink'],
      registers,
    });
    this.replayed = new Counter({
      name: 'flywheel_dlq_replayed_messages_total',
      help: 'DLQ records handled by replays, by outcome (sent, skipped, not-replayable, dry-run)',
      labelNames: ['dlq_topic', 'outcome'],
      registers,
    });
  }
}
