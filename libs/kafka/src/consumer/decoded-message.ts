import type { Context } from '@opentelemetry/api';
import type { IHeaders, KafkaMessage } from 'kafkajs';

/** A message after Avro decoding, with everything a handler may need to route, log or dead-letter it. */
export interface DecodedMessage<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  headers: IHeaders;
  /** Kafka record timestamp (epoch millis). */
  timestamp: number;
  raw: KafkaMessage;
  /**
   * The trace context of this message's `<topic> process` span. Pass it as `traceContext` of the messages
   * produced for it, so the event's trace continues (a batch handler runs outside any one message's span).
   */
  traceContext?: Context;
}

/** A message the handler rejects on its own terms (a broken business rule, a model mismatch ...). */
export interface RejectedMessage {
  message: DecodedMessage<unknown>;
  error: Error;
  /** DLQ failure kind; defaults to the error's own kind for NonRetriableError, else 'internal'. */
  kind?: string;
}

/** What a batch handler may return: the messages it refused, which go to the DLQ while the rest commit. */
export interface BatchOutcome {
  rejected?: RejectedMessage[];
}

// biome-ignore lint/suspicious/noConfusingVoidType: lets `async () => {}` handlers (Promise<void>) be routes.
export type BatchHandler<T> = (messages: DecodedMessage<T>[]) => Promise<BatchOutcome | undefined | void>;
