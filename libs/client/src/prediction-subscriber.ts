import { randomUUID } from 'node:crypto';
import { type Prediction, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import type { Consumer, Kafka } from 'kafkajs';
import { AvroSerde, createKafkaClient, isRetriable, type KafkaConnection } from '../../kafka/src/core';

export interface PredictionSubscriberOptions {
  /** Kafka bootstrap servers (the broker listener), e.g. "127.0.0.1:9092" or a list. */
  brokers: string | string[];
  /** The schema registry the mesh writes through (the registry service), e.g. http://127.0.0.1:8081. */
  schemaRegistryUrl: string;
  /**
   * Your application's consumer group. Its committed offsets let a restarted app resume where it stopped;
   * several instances with the same group share the partitions.
   */
  groupId: string;
  /** TOPIC_PREFIX of the mesh, if it runs with one. */
  topicPrefix?: string;
  /** Where a group WITHOUT committed offsets starts: 'latest' (default: only new predictions) or 'earliest'. */
  startFrom?: 'latest' | 'earliest';
  /** Read the shadow model's scores (predictions.shadow.v1) instead of the serving model's. */
  shadow?: boolean;
  clientId?: string;
  sasl?: KafkaConnection['sasl'];
  ssl?: boolean;
  /**
   * A record that is not a Prediction (not Avro, unknown schema) is skipped and reported here; default: a
   * console warning. Registry outages are not skipped: the batch is retried.
   */
  onDecodeError?: (error: Error, where: PredictionMeta) => void;
}

/** Where a prediction was read from. */
export interface PredictionMeta {
  topic: string;
  partition: number;
  offset: string;
  /** The record key: the entity (account_id). */
  key: string | null;
}

export interface ReceivedPrediction {
  prediction: Prediction;
  meta: PredictionMeta;
}

export type PredictionHandler = (prediction: Prediction, meta: PredictionMeta) => void | Promise<void>;

/** Like PredictionHandler; the stream's handler answers `false` for a prediction it could not hand over (closing). */
type DeliveringHandler = (prediction: Prediction, meta: PredictionMeta) => unknown;

/**
 * A running subscription to predictions.v1: a kafkajs consumer in your group that decodes each record's Avro
 * through the registry into a typed Prediction and awaits your handler before committing its offset
 * (at-least-once: after a crash or rebalance a prediction can come again; dedupe by `event_id`).
 */
export class PredictionSubscription {
  private stopped = false;
  private crashed?: (error: Error) => void;
  /** Rejects when the consumer stops on an error it cannot recover from; resolves after `stop()`. */
  readonly done: Promise<void>;
  private finish!: () => void;

  private constructor(
    private readonly consumer: Consumer,
    readonly topic: string,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.crashed = reject;
    });
    // A settled-but-unobserved rejection must not crash the app: callers that care await `done`.
    this.done.catch(() => undefined);
  }

  /**
   * Starts consuming and resolves once the group's positions are fixed: every prediction written after this
   * resolves is delivered (for a new group with startFrom 'latest', positions are the ends of the partitions at
   * start, not wherever the first fetch happens to land).
   */
  static async start(
    options: PredictionSubscriberOptions,
    handler: DeliveringHandler,
  ): Promise<PredictionSubscription> {
    const topic = withPrefix(options.topicPrefix, options.shadow ? topics.predictionsShadow : topics.predictions);
    const kafka = createKafkaClient({
      brokers: Array.isArray(options.brokers) ? options.brokers : options.brokers.split(','),
      clientId: options.clientId ?? `flywheel-client-${randomUUID().slice(0, 8)}`,
      sasl: options.sasl,
      ssl: options.ssl,
    });
    const serde = AvroSerde.connect(options.schemaRegistryUrl, schemaFor);
    const startAt = await startPositions(kafka, options.groupId, topic, options.startFrom ?? 'latest');
    const consumer = kafka.consumer({ groupId: options.groupId, maxWaitTimeInMs: 250 });
    const subscription = new PredictionSubscription(consumer, topic);
    const onDecodeError =
      options.onDecodeError ??
      ((error: Error, where: PredictionMeta) =>
        console.warn(`flywheel-client: skipped ${where.topic}[${where.partition}]@${where.offset}: ${error.message}`));

    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !subscription.stopped) subscription.crashed?.(payload.error);
    });
    // A new group starts at the positions taken above, on every (re)join: kafkajs drops seeks when it restarts a
    // crashed consumer, and a seek before the first join throws. `next` follows what was handed over.
    const next = new Map(startAt.map(({ partition, offset }) => [partition, offset]));
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? []) {
        const offset = next.get(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset });
      }
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: options.startFrom === 'earliest' });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale() || subscription.stopped) return;
            const meta: PredictionMeta = {
              topic,
              partition: batch.partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
            };
            let prediction: Prediction;
            try {
              prediction = await serde.decode<Prediction>(topic, message.value);
            } catch (error) {
              if (isRetriable(error)) throw error;
              onDecodeError(error as Error, meta);
              resolveOffset(message.offset);
              if (next.has(batch.partition)) next.set(batch.partition, String(BigInt(message.offset) + 1n));
              continue;
            }
            // not resolved: the prediction comes again on the next start
            if ((await handler(prediction, meta)) === false) return;
            resolveOffset(message.offset);
            if (next.has(batch.partition)) next.set(batch.partition, String(BigInt(message.offset) + 1n));
            await heartbeat();
          }
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
    return subscription;
  }

  /** Leaves the group after the prediction in hand; committed offsets stay for the next start. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer.disconnect();
    this.finish();
  }
}

/**
 * For a group that has committed nothing on the topic yet: the ends (latest) or starts (earliest) of its
 * partitions now. Empty when the group has offsets: it resumes from them.
 */
async function startPositions(
  kafka: Kafka,
  groupId: string,
  topic: string,
  startFrom: 'latest' | 'earliest',
): Promise<Array<{ partition: number; offset: string }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (committed?.partitions.some((p) => Number(p.offset) >= 0)) return [];
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.map((p) => ({ partition: p.partition, offset: startFrom === 'latest' ? p.high : p.low }));
  } finally {
    await admin.disconnect();
  }
}

/** `subscribePredictions(options, handler)`: the callback form. */
export function subscribePredictions(
  options: PredictionSubscriberOptions,
  handler: PredictionHandler,
): Promise<PredictionSubscription> {
  return PredictionSubscription.start(options, handler);
}

/**
 * The async-iterator form: `for await (const { prediction, meta } of await openPredictionStream(opts)) { ... }`.
 * A prediction's offset is committed once your loop has taken it; leaving the loop (break, return, throw) stops
 * the consumer.
 */
export async function openPredictionStream(options: PredictionSubscriberOptions): Promise<PredictionStream> {
  const stream = new PredictionStream();
  stream.attach(await PredictionSubscription.start(options, (prediction, meta) => stream.offer({ prediction, meta })));
  return stream;
}

export class PredictionStream implements AsyncIterableIterator<ReceivedPrediction> {
  private subscription?: PredictionSubscription;
  private offered?: { item: ReceivedPrediction; taken(delivered: boolean): void };
  private waiting?: { resolve(result: IteratorResult<ReceivedPrediction>): void; reject(error: unknown): void };
  private closed = false;
  private failure?: unknown;

  /** @internal */
  attach(subscription: PredictionSubscription): void {
    this.subscription = subscription;
    subscription.done.catch((error: unknown) => {
      this.failure = error;
      this.waiting?.reject(error);
      this.waiting = undefined;
    });
  }

  /** @internal the subscription's handler: waits until the loop takes the prediction (one in hand at a time). */
  offer(item: ReceivedPrediction): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((taken) => {
      if (this.waiting) {
        this.waiting.resolve({ value: item, done: false });
        this.waiting = undefined;
        taken(true);
      } else {
        this.offered = { item, taken };
      }
    });
  }

  next(): Promise<IteratorResult<ReceivedPrediction>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    const offered = this.offered;
    if (offered) {
      this.offered = undefined;
      offered.taken(true);
      return Promise.resolve({ value: offered.item, done: false });
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  async return(): Promise<IteratorResult<ReceivedPrediction>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /** Stops the consumer; a prediction offered but not taken is not committed (it comes again next time). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.offered?.taken(false);
    this.offered = undefined;
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
    await this.subscription?.stop();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
