import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

export interface PartitionRange {
  partition: number;
  /** First offset to read (inclusive). */
  from: bigint;
  /** Stop before this offset (the high watermark when the read started). */
  to: bigint;
}

export interface ReadOptions {
  topic: string;
  ranges: PartitionRange[];
  deadlineMs: number;
  /** Return false to stop reading that partition (page full). */
  visit: (partition: number, message: KafkaMessage) => boolean | Promise<boolean>;
}

export interface ReadResult {
  /** Per partition: the next offset not yet visited. */
  next: Map<number, bigint>;
  /** False when the deadline ended the read before every range was done. */
  complete: boolean;
}

/**
 * Reads offset ranges of a topic with a short-lived consumer of a throw-away group (no commits; the group
 * is deleted afterwards), bounded in time. kafkajs has no group-less fetch; seeking after `run` makes the
 * read start at the requested offsets rather than at the beginning.
 */
export class DlqReader {
  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly groupPrefix: string,
  ) {}

  /** Low/high watermarks per partition. */
  async watermarks(topic: string): Promise<Array<{ partition: number; low: bigint; high: bigint }>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets
      .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async read(options: ReadOptions): Promise<ReadResult> {
    const next = new Map<number, bigint>();
    const pending = new Set<number>();
    for (const r of options.ranges) {
      next.set(r.partition, r.from);
      if (r.from < r.to) pending.add(r.partition);
    }
    if (pending.size === 0) return { next, complete: true };
    const ranges = new Map(options.ranges.map((r) => [r.partition, r]));
    const groupId = `${this.groupPrefix}-reader-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const timer = setTimeout(() => finish(), options.deadlineMs);
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, isRunning }) => {
          const range = ranges.get(batch.partition);
          if (!range || !pending.has(batch.partition)) return;
          for (const message of batch.messages) {
            if (!isRunning() || !pending.has(batch.partition)) return;
            const offset = BigInt(message.offset);
            if (offset < (next.get(batch.partition) ?? range.from)) continue;
            if (offset >= range.to) {
              pending.delete(batch.partition);
              break;
            }
            next.set(batch.partition, offset + 1n);
            const more = await options.visit(batch.partition, message);
            if (!more || offset + 1n >= range.to) pending.delete(batch.partition);
          }
          // compacted/deleted ranges: the batch may end at the high watermark without reaching `to - 1`
          if (BigInt(batch.highWatermark) <= (next.get(batch.partition) ?? 0n)) pending.delete(batch.partition);
          if (pending.size === 0) finish();
        },
      });
      for (const r of options.ranges) {
        if (r.from < r.to) consumer.seek({ topic: options.topic, partition: r.partition, offset: String(r.from) });
      }
      await finished;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    return { next, complete: pending.size === 0 };
  }
}
