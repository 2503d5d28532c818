import type { Consumer } from 'kafkajs';

/**
 * Keeps a consumer at chosen offsets across group (re)joins. kafkajs drops seeks when it restarts a crashed
 * consumer (a new consumer group object; common on a busy broker: "coordinator is loading"), and a seek made
 * before the first join throws. So every join seeks each assigned partition to the next offset still to read.
 * Call `advance` after handling a record; returns the next offset to read of a partition.
 */
export class HeldPositions {
  private readonly next: Map<number, number>;

  constructor(
    consumer: Consumer,
    topic: string,
    start: Map<number, number>,
    /** Partitions of the topic not to read at all. */
    paused: number[] = [],
  ) {
    this.next = new Map(start);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = payload.memberAssignment[topic] ?? [];
      for (const partition of assigned) {
        const offset = this.next.get(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset: String(offset) });
      }
      const toPause = paused.filter((p) => assigned.includes(p));
      if (toPause.length) consumer.pause([{ topic, partitions: toPause }]);
    });
  }

  nextOffset(partition: number): number | undefined {
    return this.next.get(partition);
  }

  advance(partition: number, offset: number): void {
    if (offset + 1 > (this.next.get(partition) ?? -1)) this.next.set(partition, offset + 1);
  }
}
