import { type Admin, type Kafka, type Message, Partitioners, type PartitionMetadata } from 'kafkajs';

const METADATA_TTL_MS = 30_000;

/**
 * Chooses each message's partition before kafkajs does, with kafkajs' own default (murmur2) partitioner.
 * Knowing the partitions up front lets the producer check that every one of them was acknowledged:
 * kafkajs 2.2.4 can resolve a send without writing a partition whose leader moved, during its retry, onto
 * a broker that had already answered (sendMessages.js skips brokers with a response; kafkajs #1303).
 */
export class PartitionAssigner {
  private readonly admin: Admin;
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly metadata = new Map<string, { partitions: PartitionMetadata[]; fetchedAt: number }>();
  private connected?: Promise<void>;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  async assign(topic: string, messages: Message[]): Promise<Array<Message & { partition: number }>> {
    const partitionMetadata = await this.partitionsOf(topic);
    return messages.map((message) => ({
      ...message,
      partition: message.partition ?? this.partitioner({ topic, partitionMetadata, message }),
    }));
  }

  /** Drop cached metadata (after an error that may mean the partition count changed). */
  forget(topic: string): void {
    this.metadata.delete(topic);
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = undefined;
  }

  private async partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    const cached = this.metadata.get(topic);
    if (cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.partitions;
    this.connected ??= this.admin.connect();
    await this.connected;
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics[0]?.partitions ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions (does it exist?)`);
    this.metadata.set(topic, { partitions, fetchedAt: Date.now() });
    return partitions;
  }
}
