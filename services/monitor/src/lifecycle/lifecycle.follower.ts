import { randomUUID } from 'node:crypto';
import type { ModelLifecycle } from '@flywheel/contracts';
import { type AvroSerde, isRetriable } from '@flywheel/kafka';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';

export interface LifecycleFollowerOptions {
  kafka: Kafka;
  serde: AvroSerde;
  /** models.lifecycle.v1 with TOPIC_PREFIX applied. */
  topic: string;
  modelName: string;
  groupPrefix: string;
  bootstrapTimeoutMs: number;
  logger: Logger;
}

/**
 * Reads models.lifecycle.v1 (compacted, every record a model's full state) from offset 0 in a consumer group
 * unique to this process and never committed, so a restart rebuilds the state. `start` resolves with the
 * newest record of the model once everything written before start-up is read; later ones go to onChange.
 */
export class LifecycleFollower {
  private consumer?: Consumer;
  private latest?: ModelLifecycle;
  private listener?: (event: ModelLifecycle) => void;
  private bootstrapped = false;

  constructor(private readonly options: LifecycleFollowerOptions) {}

  async start(onChange: (event: ModelLifecycle) => void): Promise<ModelLifecycle | undefined> {
    const { kafka, topic } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
    let caughtUp!: () => void;
    const done = new Promise<void>((resolve) => {
      caughtUp = resolve;
    });
    if (remaining.size === 0) caughtUp();
    this.consumer = kafka.consumer({
      groupId: `${this.options.groupPrefix}.lifecycle.${randomUUID()}`,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload: EachBatchPayload) => {
        await this.onBatch(payload);
        const { batch } = payload;
        if (remaining.has(batch.partition) && BigInt(batch.lastOffset()) + 1n >= (ends.get(batch.partition) ?? 0n)) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) caughtUp();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`could not read ${topic} to its end within ${this.options.bootstrapTimeoutMs} ms`)),
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
        if (isRetriable(error)) throw error; // registry unreachable: kafkajs refetches from this offset
        resolveOffset(message.offset);
        // the registry's consumers own this topic's DLQ; an undecodable record must not stop the monitor
        this.options.logger.error({ error, offset: message.offset }, 'undecodable model lifecycle record skipped');
        continue;
      }
      resolveOffset(message.offset);
      if (event.model_name !== this.options.modelName) continue;
      this.latest = event;
      if (this.bootstrapped) this.listener?.(event);
    }
    await heartbeat();
  }
}
