import { randomUUID } from 'node:crypto';
import type { AvroSerde } from '@flywheel/kafka';
import type { Consumer, Kafka } from 'kafkajs';

export interface Watched<T> {
  topic: string;
  partition: number;
  offset: number;
  value: T;
  /** Wall clock when the watcher read the record (recovery times are measured with it). */
  receivedAt: number;
}

/**
 * Reads topics from the beginning in the background, every record once (by topic/partition/offset, also across
 * a restart of its consumer: it survives broker kills), and can tell whether it has read everything the brokers
 * hold (`caughtUp`). It decodes with the mesh's registry; a record it cannot decode is kept as an Error.
 */
export class TopicWatcher<T> {
  readonly records: Watched<T | Error>[] = [];
  private readonly seen = new Set<string>();
  private readonly maxOffset = new Map<string, number>();
  private consumer?: Consumer;
  private stopped = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    readonly topics: string[],
  ) {}

  static async start<T>(kafka: Kafka, serde: AvroSerde, topics: string[]): Promise<TopicWatcher<T>> {
    const watcher = new TopicWatcher<T>(kafka, serde, topics);
    await watcher.startConsumer();
    return watcher;
  }

  /** Records decoded without error. */
  values(): Watched<T>[] {
    return this.records.filter((r): r is Watched<T> => !(r.value instanceof Error));
  }

  /** True once, for every partition of every watched topic, the record before the log end has been read. */
  async caughtUp(): Promise<boolean> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const topic of this.topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
          if (Number(high) <= Number(low)) continue;
          if ((this.maxOffset.get(`${topic}:${partition}`) ?? -1) < Number(high) - 1) return false;
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async startConsumer(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `fault-watcher-${randomUUID()}`,
      maxWaitTimeInMs: 200,
      sessionTimeout: 10_000,
      retry: { retries: 20, restartOnFailure: async () => true },
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      // kafkajs gives up on some errors without restarting (e.g. a coordinator that stays away): start afresh.
      if (!payload.restart && !this.stopped) void consumer.disconnect().finally(() => this.startConsumer());
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const receivedAt = Date.now();
        for (const message of batch.messages) {
          const key = `${batch.topic}:${batch.partition}:${message.offset}`;
          if (this.seen.has(key)) continue;
          this.seen.add(key);
          let value: T | Error;
          try {
            value = (await this.serde.decode(batch.topic, message.value)) as T;
          } catch (error) {
            value = error as Error;
          }
          const offset = Number(message.offset);
          this.records.push({ topic: batch.topic, partition: batch.partition, offset, value, receivedAt });
          const partitionKey = `${batch.topic}:${batch.partition}`;
          if (offset > (this.maxOffset.get(partitionKey) ?? -1)) this.maxOffset.set(partitionKey, offset);
        }
      },
    });
    await joined;
  }
}
