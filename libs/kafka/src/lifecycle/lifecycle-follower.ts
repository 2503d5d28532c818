import { randomUUID } from 'node:crypto';
import type { ModelLifecycle } from '@flywheel/contracts';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { isRetriable } from '../errors';
import type { AvroSerde } from '../serde/avro-serde';

export interface LifecycleFollowerOptions {
  kafka: Kafka;
  serde: AvroSerde;
  /** models.lifecycle.v1 with TOPIC_PREFIX applied. */
  topic: string;
  modelName: string;
  /** Group id prefix; a unique suffix is added so every instance reads every event. */
  groupPrefix: string;
  bootstrapTimeoutMs: number;
  logger: Logger;
}

/**
 * Reads models.lifecycle.v1 (compacted; every record is a model's full state) from the beginning to the
 * end it had at start-up, then keeps following it. It runs in a consumer group of its own, unique to this
 * process and never committed, so every instance sees every event and a restart re-reads from offset 0.
 * Shared by every service that must know a model's Production version (stream-inference, monitor).
 */
export class LifecycleFollower {
  private consumer?: Consumer;
  private latest?: ModelLifecycle;
  private readonly seen = new Set<string>();
  private listener?: (event: ModelLifecycle) => void;
  private bootstrapped = false;

  constructor(private readonly options: LifecycleFollowerOptions) {}

  /**
   * Resolves with the newest state of the model once everything written before start-up has been read
   * (undefined when the model has no record). Later events go to `onChange`. Throws on timeout.
   */
  async start(onChange: (event: ModelLifecycle) => void): Promise<ModelLifecycle | undefined> {
    const { kafka, topic, logger } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (remaining.size === 0) caughtUp();

    const groupId = `${this.options.groupPrefix}.lifecycle.${randomUUID()}`;
    this.consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1_000, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload: EachBatchPayload) => {
        await this.onBatch(payload);
        const { batch } = payload;
        const end = ends.get(batch.partition) ?? 0n;
        if (remaining.has(batch.partition) && BigInt(batch.lastOffset()) + 1n >= end) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) caughtUp();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `could not read ${topic} to its end within ${this.options.bootstrapTimeoutMs} ms (partitions left: ${[...remaining].join(',')})`,
            ),
          ),
        this.options.bootstrapTimeoutMs,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.bootstrapped = true;
    this.listener = onChange;
    logger.info(
      { topic, group: groupId, 'model.name': this.options.modelName, 'model.version': this.latest?.version },
      this.latest ? 'model lifecycle read to its end' : 'model lifecycle read to its end: no record for this model yet',
    );
    return this.latest;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  private async onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    for (const message of batch.messages) {
      if (!message.value || message.key?.toString() !== this.options.modelName) {
        resolveOffset(message.offset);
        continue;
      }
      let event: ModelLifecycle;
      try {
        event = (await this.options.serde.decode(batch.topic, message.value)) as ModelLifecycle;
      } catch (error) {
        // schema registry unreachable: fail the batch so kafkajs fetches it again from this offset
        if (isRetriable(error)) throw error;
        resolveOffset(message.offset);
        // Not ours to dead-letter (the registry's consumers own this topic's DLQ); never let it stop us.
        this.options.logger.error(
          { error, topic: batch.topic, offset: message.offset },
          'undecodable model lifecycle record skipped',
        );
        continue;
      }
      resolveOffset(message.offset);
      if (event.model_name !== this.options.modelName || this.seen.has(event.change_id)) continue;
      this.seen.add(event.change_id);
      this.latest = event;
      if (this.bootstrapped) this.listener?.(event);
    }
    await heartbeat();
  }
}
