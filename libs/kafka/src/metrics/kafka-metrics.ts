import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Kafka metrics shared by every service. Names follow flywheel_<component>_<thing>_<unit>; labels are
 * bounded (topic, group, partition, outcome/kind), never event ids or keys.
 */
export class KafkaMetrics {
  readonly produced: Counter<'topic'>;
  readonly produceErrors: Counter<'topic'>;
  readonly produceLatency: Histogram<'topic'>;
  readonly produceResent: Counter<'topic'>;
  readonly consumed: Counter<'topic' | 'group'>;
  readonly handled: Counter<'topic' | 'group' | 'outcome'>;
  readonly deadLettered: Counter<'topic' | 'group' | 'kind'>;
  readonly retries: Counter<'topic' | 'group'>;
  readonly batchSize: Histogram<'topic' | 'group'>;
  readonly batchDuration: Histogram<'topic' | 'group'>;
  readonly lag: Gauge<'topic' | 'group' | 'partition'>;
  readonly consumerUp: Gauge<'group'>;

  private static readonly byRegistry = new WeakMap<Registry, KafkaMetrics>();

  /** One set per registry: several producers/consumers in a process share the series. */
  static for(registry: Registry): KafkaMetrics {
    let metrics = KafkaMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new KafkaMetrics(registry);
      KafkaMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.produced = new Counter({
      name: 'flywheel_kafka_produced_messages_total',
      help: 'Messages acknowledged by Kafka (acks=all)',
      labelNames: ['topic'],
      registers,
    });
    this.produceErrors = new Counter({
      name: 'flywheel_kafka_produce_errors_total',
      help: 'Produce calls that failed or timed out',
      labelNames: ['topic'],
      registers,
    });
    this.produceLatency = new Histogram({
      name: 'flywheel_kafka_produce_duration_seconds',
      help: 'Time from send to acknowledgement, per produce call',
      labelNames: ['topic'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.produceResent = new Counter({
      name: 'flywheel_kafka_produce_resent_messages_total',
      help: 'Messages sent again because kafkajs resolved a send without acknowledging their partition',
      labelNames: ['topic'],
      registers,
    });
    this.consumed = new Counter({
      name: 'flywheel_kafka_consumed_messages_total',
      help: 'Messages fetched by a consumer group',
      labelNames: ['topic', 'group'],
      registers,
    });
    this.handled = new Counter({
      name: 'flywheel_kafka_handled_messages_total',
      help: 'Messages whose handling finished, by outcome (ok, dead-lettered)',
      labelNames: ['topic', 'group', 'outcome'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'flywheel_kafka_dead_lettered_messages_total',
      help: 'Messages sent to a dead-letter topic, by failure kind',
      labelNames: ['topic', 'group', 'kind'],
      registers,
    });
    this.retries = new Counter({
      name: 'flywheel_kafka_handler_retries_total',
      help: 'Handler attempts that failed with a retriable error and were retried',
      labelNames: ['topic', 'group'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'flywheel_kafka_batch_messages',
      help: 'Messages per handled batch',
      labelNames: ['topic', 'group'],
      buckets: [1, 4, 16, 64, 128, 256, 512, 1024, 4096],
      registers,
    });
    this.batchDuration = new Histogram({
      name: 'flywheel_kafka_batch_duration_seconds',
      help: 'Time to decode, handle and commit one batch',
      labelNames: ['topic', 'group'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.lag = new Gauge({
      name: 'flywheel_kafka_consumer_lag_messages',
      help: 'High watermark minus the next offset to process, per partition, as of the last fetch',
      labelNames: ['topic', 'group', 'partition'],
      registers,
    });
    this.consumerUp = new Gauge({
      name: 'flywheel_kafka_consumer_up',
      help: '1 while the consumer group member is running, 0 after a crash or before start',
      labelNames: ['group'],
      registers,
    });
  }
}
