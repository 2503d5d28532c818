import { type Label, type RawEvent, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import type { EventSink, OutgoingBatch, SendResult } from './event-sink';

export interface KafkaSinkOptions {
  brokers: string[];
  schemaRegistryUrl: string;
  topicPrefix?: string;
  /** Written into each RawEvent's `source` (the collector would write `<producer>@<instance>`). */
  source?: string;
}

/**
 * Produces straight to events.raw.v1 and labels.v1 (Avro through the registry, idempotent, acks=all),
 * skipping the collector: for load that the HTTP hop should not shape, or when no collector runs. The
 * fields the collector would stamp (received_time, source) are stamped here.
 */
export class KafkaSink implements EventSink {
  readonly description: string;
  private readonly producer: FlywheelProducer;
  private readonly rawTopic: string;
  private readonly labelsTopic: string;
  private connected?: Promise<void>;

  constructor(private readonly options: KafkaSinkOptions) {
    const kafka = createKafkaClient({ brokers: options.brokers, clientId: 'flywheel-generator' });
    this.producer = new FlywheelProducer(kafka, AvroSerde.connect(options.schemaRegistryUrl, schemaFor));
    this.rawTopic = withPrefix(options.topicPrefix ?? '', topics.eventsRaw);
    this.labelsTopic = withPrefix(options.topicPrefix ?? '', topics.labels);
    this.description = `kafka ${options.brokers.join(',')} (${this.rawTopic}, ${this.labelsTopic})`;
  }

  async send(batch: OutgoingBatch, signal: AbortSignal): Promise<SendResult> {
    this.connected ??= this.producer.connect([this.rawTopic, this.labelsTopic]);
    await this.connected;
    if (signal.aborted) throw signal.reason;
    const receivedTime = Date.now();
    const source = this.options.source ?? 'flywheel-generator';
    const raw = batch.transactions.map((t) => {
      const value: RawEvent = {
        ...t,
        event_type: 'transaction',
        received_time: receivedTime,
        source,
        api_key_id: null,
        attributes: null,
      };
      return { key: t.account_id, value, timestamp: t.event_time };
    });
    const labels = batch.labels.map((l) => ({ key: l.account_id, value: l satisfies Label }));
    // The producer retries inside kafkajs until acknowledged (idempotent), so there is nothing to retry here.
    await Promise.all([this.producer.send(this.rawTopic, raw), this.producer.send(this.labelsTopic, labels)]);
    return { accepted: raw.length + labels.length, rejected: 0, reasons: [], retries: 0 };
  }

  async close(): Promise<void> {
    if (this.connected) await this.connected.catch(() => undefined);
    await this.producer.disconnect();
  }
}
