import { type DeadLetter, dlqTopicFor } from '@flywheel/contracts';
import type { Context } from '@opentelemetry/api';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import type { FlywheelProducer } from '../producer/flywheel-producer';
import { headerString } from '../tracing/trace-headers';

export interface FailedMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  error: unknown;
  kind: string;
  attempts: number;
  firstFailureTime: number;
  eventId?: string | null;
  /** The failed message's trace: its dead letter continues it. */
  traceContext?: Context;
}

/** Writes DLQ envelopes (acks=all) keyed like the original, so a replay lands on the same partition. */
export class DeadLetterPublisher {
  constructor(
    private readonly producer: FlywheelProducer,
    private readonly stage: string,
  ) {}

  async publish(failures: FailedMessage[]): Promise<void> {
    const byTopic = new Map<string, FailedMessage[]>();
    for (const failure of failures) {
      const list = byTopic.get(failure.topic) ?? [];
      list.push(failure);
      byTopic.set(failure.topic, list);
    }
    for (const [topic, list] of byTopic) {
      await this.producer.send(
        dlqTopicFor(topic),
        list.map((failure) => ({
          key: failure.message.key,
          value: this.envelope(failure),
          traceContext: failure.traceContext,
        })),
      );
    }
  }

  envelope(failure: FailedMessage): DeadLetter {
    const { message, error } = failure;
    const now = Date.now();
    return {
      original_topic: failure.topic,
      original_partition: failure.partition,
      original_offset: Number(message.offset),
      original_key: message.key ?? null,
      original_value: message.value ?? null,
      original_headers: headersToList(message.headers),
      original_timestamp: message.timestamp ? Number(message.timestamp) : null,
      failure_kind: failure.kind,
      error_class: error instanceof Error ? error.name : typeof error,
      error_message: (error instanceof Error ? error.message : String(error)).slice(0, 4_000),
      stage: this.stage,
      attempts: failure.attempts,
      first_failure_time: failure.firstFailureTime,
      last_failure_time: now,
      event_id: failure.eventId ?? headerString(message.headers, 'event_id') ?? null,
    };
  }
}

function headersToList(headers: IHeaders | undefined): DeadLetter['original_headers'] {
  const list: DeadLetter['original_headers'] = [];
  for (const [key, value] of Object.entries(headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) {
      list.push({ key, value: item === undefined ? null : Buffer.isBuffer(item) ? item : Buffer.from(item) });
    }
  }
  return list;
}
