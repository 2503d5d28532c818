import { DLQ_SUFFIX } from '@flywheel/contracts';
import { type AvroSerde, KAFKA_CLIENT } from '@flywheel/kafka';
import { Inject, Injectable, NotFoundException, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { AlerterConfig } from '../config';
import { DlqConsumerService } from '../consumer/dlq-consumer.service';
import { SeenKindsRepository } from '../consumer/seen-kinds.repository';
import { ALERTER_CONFIG, DLQ_SERDE } from '../tokens';
import { DlqReader } from './dlq-reader';
import { type DlqRecord, matchesFilter, type RecordFilter, readRecord, renderRecord } from './dlq-record';

export interface PageQuery extends RecordFilter {
  partition: number;
  offset?: number;
  limit: number;
}

/** Read side of DLQ topics: listing with counts and kinds, paged reads with filters. */
@Injectable()
export class DlqBrowseService implements OnModuleInit, OnApplicationShutdown {
  readonly admin: Admin;
  readonly reader: DlqReader;

  constructor(
    @Inject(ALERTER_CONFIG) private readonly config: AlerterConfig,
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    @Inject(DLQ_SERDE) readonly serde: AvroSerde,
    private readonly consumer: DlqConsumerService,
    private readonly seenKinds: SeenKindsRepository,
  ) {
    this.admin = kafka.admin();
    this.reader = new DlqReader(kafka, this.admin, config.ALERTER_GROUP_ID);
  }

  async onModuleInit(): Promise<void> {
    await this.admin.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin.disconnect();
  }

  async list() {
    const topics = (await this.admin.listTopics()).filter((t) => this.consumer.isOwnDlq(t)).sort();
    const kinds = await this.seenKinds.all();
    const consumed = new Set(this.consumer.topics);
    return Promise.all(
      topics.map(async (topic) => {
        const partitions = await this.reader.watermarks(topic);
        const source = topic.slice(0, -DLQ_SUFFIX.length);
        return {
          topic,
          source_topic: source,
          messages: partitions.reduce((n, p) => n + Number(p.high - p.low), 0),
          partitions: partitions.map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })),
          consumed: consumed.has(topic),
          kinds: kinds
            .filter((k) => k.topic === source)
            .map((k) => ({ kind: k.kind, first_stage: k.stage, first_seen_at: k.firstSeenAt.toISOString() })),
        };
      }),
    );
  }

  /** Throws 404 unless `topic` is one of this deployment's DLQ topics and exists. */
  async assertDlq(topic: string) {
    if (!this.consumer.isOwnDlq(topic)) throw new NotFoundException(`${topic} is not a DLQ topic of this deployment`);
    const existing = await this.admin.listTopics();
    if (!existing.includes(topic)) throw new NotFoundException(`topic ${topic} does not exist`);
    return this.reader.watermarks(topic);
  }

  async page(topic: string, query: PageQuery) {
    const watermarks = await this.assertDlq(topic);
    const w = watermarks.find((p) => p.partition === query.partition);
    if (!w) throw new NotFoundException(`${topic} has no partition ${query.partition}`);
    const from = query.offset === undefined || BigInt(query.offset) < w.low ? w.low : BigInt(query.offset);
    const matched: DlqRecord[] = [];
    let scanned = 0;
    const result = await this.reader.read({
      topic,
      ranges: [{ partition: w.partition, from, to: w.high }],
      deadlineMs: this.config.BROWSE_TIMEOUT_MS,
      visit: async (partition, message) => {
        scanned += 1;
        const record = await readRecord(this.serde, topic, partition, message);
        if (matchesFilter(record, query)) matched.push(record);
        return matched.length < query.limit;
      },
    });
    const next = result.next.get(w.partition) ?? from;
    return {
      topic,
      partition: w.partition,
      low_offset: Number(w.low),
      high_offset: Number(w.high),
      from_offset: Number(from),
      next_offset: next < w.high ? Number(next) : null,
      scanned,
      complete: result.complete,
      items: await Promise.all(matched.map((r) => renderRecord(this.serde, r))),
    };
  }
}
