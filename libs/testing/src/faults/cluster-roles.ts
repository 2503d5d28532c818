import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import type { KafkaState } from '../kafka-runner';

/**
 * The broker leading the busiest partitions of `topics`: partitions weighted by how many records they hold (their
 * high watermark), summed per leader. Killing it moves the most traffic.
 */
export async function busiestLeader(kafka: Kafka, topics: string[]): Promise<{ broker: number; partitions: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const load = new Map<number, { records: number; partitions: number }>();
    const metadata = await admin.fetchTopicMetadata({ topics });
    for (const topic of metadata.topics) {
      const offsets = await admin.fetchTopicOffsets(topic.name);
      for (const partition of topic.partitions) {
        const high = Number(offsets.find((o) => o.partition === partition.partitionId)?.high ?? 0);
        const entry = load.get(partition.leader) ?? { records: 0, partitions: 0 };
        entry.records += high;
        entry.partitions += 1;
        load.set(partition.leader, entry);
      }
    }
    const [broker, entry] = [...load].sort((a, b) => b[1].records - a[1].records)[0];
    return { broker, partitions: entry.partitions };
  } finally {
    await admin.disconnect();
  }
}

/**
 * The active KRaft controller (the metadata quorum's leader), as recorded by a live broker in its quorum-state file.
 * Clients cannot ask for it: DescribeCluster names a random broker as "controller" in KRaft mode.
 */
export function activeController(kafka: KafkaState, except: number[] = []): number {
  for (const broker of kafka.brokers) {
    if (except.includes(broker.id)) continue;
    try {
      const file = join(broker.dataDir, 'data', '__cluster_metadata-0', 'quorum-state');
      const state = JSON.parse(readFileSync(file, 'utf8')) as { leaderId?: number };
      if (typeof state.leaderId === 'number' && state.leaderId > 0) return state.leaderId;
    } catch {
      // this broker has not written it yet: ask the next one
    }
  }
  throw new Error('no broker recorded a quorum leader');
}
