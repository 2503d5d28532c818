import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaMetrics } from './kafka-metrics';

export interface ConsumerLagProbeOptions {
  kafka: Kafka;
  groupId: string;
  metrics: KafkaMetrics;
  /** How often end offsets are fetched; 0 = only batches update the gauge. */
  intervalMs: number;
  /** Where a partition without a committed offset starts (the subscription's fromBeginning). */
  fromBeginning: boolean;
  logger?: Logger;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Keeps `flywheel_kafka_consumer_lag_messages{group,topic,partition}` true for the partitions this member
 * owns. A batch sets it (high watermark − next offset); between batches the probe asks the brokers for the
 * partitions' end offsets every `intervalMs`, so a handler that hangs or a member that stopped fetching shows
 * lag that grows instead of a frozen last value (what the "lag growing" alert needs). The position is what
 * this member processed itself, else the group's committed offset. Series of partitions that moved to
 * another member are removed, so summing over instances counts each partition once.
 */
export class ConsumerLagProbe {
  private admin?: Admin;
  private timer?: NodeJS.Timeout;
  private assignment: Record<string, number[]> = {};
  /** Next offset to process, per partition, as this member last resolved it. */
  private readonly positions = new Map<string, bigint>();
  private probing = false;

  constructor(private readonly options: ConsumerLagProbeOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops probing and removes this member's series: its partitions belong to whoever takes them over. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.assigned({});
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  /** The member's assignment after a group join (topic → partitions). */
  assigned(assignment: Record<string, number[]>): void {
    for (const [topic, partitions] of Object.entries(this.assignment)) {
      for (const partition of partitions) {
        if (assignment[topic]?.includes(partition)) continue;
        this.positions.delete(keyOf(topic, partition));
        this.options.metrics.lag.remove({ topic, group: this.options.groupId, partition: String(partition) });
      }
    }
    this.assignment = Object.fromEntries(Object.entries(assignment).map(([t, ps]) => [t, [...ps]]));
  }

  /** After a batch: `next` is the next offset to process, `highWatermark` the partition's end at fetch time. */
  processed(topic: string, partition: number, next: bigint, highWatermark: bigint): void {
    this.positions.set(keyOf(topic, partition), next);
    this.setLag(topic, partition, highWatermark - next);
  }

  /** One round: end offsets of every owned partition against the member's position. Errors wait for the next round. */
  async probe(): Promise<void> {
    const topics = Object.keys(this.assignment).filter((topic) => this.assignment[topic].length > 0);
    if (this.probing || topics.length === 0) return;
    this.probing = true;
    try {
      if (!this.admin) {
        const admin = this.options.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      const committed = new Map<string, bigint>();
      for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId: this.options.groupId, topics })) {
        for (const { partition, offset } of partitions) committed.set(keyOf(topic, partition), BigInt(offset));
      }
      for (const topic of topics) {
        const ends = await this.admin.fetchTopicOffsets(topic);
        for (const partition of this.assignment[topic] ?? []) {
          const end = ends.find((e) => e.partition === partition);
          if (!end) continue;
          // read after the awaits: a batch may have moved the position meanwhile
          const key = keyOf(topic, partition);
          const own = this.positions.get(key);
          const group = committed.get(key) ?? -1n;
          let position = own ?? (group >= 0n ? group : BigInt(this.options.fromBeginning ? end.low : end.high));
          if (own !== undefined && group > own) position = group;
          this.setLag(topic, partition, BigInt(end.high) - position);
        }
      }
    } catch (error) {
      this.options.logger?.debug(
        { error, group: this.options.groupId },
        'consumer lag probe failed; next round retries',
      );
    } finally {
      this.probing = false;
    }
  }

  private setLag(topic: string, partition: number, lag: bigint): void {
    // only for partitions still owned: a late probe answer must not resurrect a removed series
    if (!this.assignment[topic]?.includes(partition)) return;
    this.options.metrics.lag.set(
      { topic, group: this.options.groupId, partition: String(partition) },
      Number(lag > 0n ? lag : 0n),
    );
  }
}
