import { randomUUID } from 'node:crypto';
import { DLQ_SUFFIX } from '@flywheel/contracts';
import { FlywheelProducer } from '@flywheel/kafka';
import { ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, NotFoundException, type OnApplicationShutdown } from '@nestjs/common';
import type { IHeaders, Message } from 'kafkajs';
import type { Logger } from 'pino';
import { DlqBrowseService } from '../browse/dlq-browse.service';
import { type DlqRecord, matchesFilter, type RecordFilter, readRecord } from '../browse/dlq-record';
import type { AlerterConfig } from '../config';
import { AlerterMetrics } from '../metrics/alerter-metrics';
import { ALERTER_CONFIG } from '../tokens';
import { type ReplayCounts, ReplayRepository, type ReplayRow } from './replay.repository';

export const REPLAY_HEADERS = {
  replayId: 'flywheel-replay-id',
  originalTopic: 'flywheel-original-topic',
  originalPartition: 'flywheel-original-partition',
  originalOffset: 'flywheel-original-offset',
  dlqTopic: 'flywheel-dlq-topic',
  dlqOffset: 'flywheel-dlq-offset',
} as const;

export interface ReplayRequest extends RecordFilter {
  /** DLQ offsets (inclusive range) to consider. */
  offsetFrom?: number;
  offsetTo?: number;
  /** Exact DLQ offsets to consider. */
  offsets?: number[];
  dryRun: boolean;
}

/**
 * Re-produces dead letters' ORIGINAL bytes and headers to their original topic. Idempotent: each DLQ
 * record is claimed in Postgres in the same transaction that waits for Kafka's acknowledgement of its
 * re-send, so a record is re-sent at most once per claim and a repeated selection re-sends nothing
 * (a crash between the ack and the commit can repeat a record once; downstream dedupes by event_id).
 */
@Injectable()
export class ReplayService implements OnApplicationShutdown {
  private readonly running = new Set<Promise<void>>();

  constructor(
    @Inject(ALERTER_CONFIG) private readonly config: AlerterConfig,
    private readonly browse: DlqBrowseService,
    private readonly repository: ReplayRepository,
    private readonly producer: FlywheelProducer,
    private readonly metrics: AlerterMetrics,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  /** Validates the topic, records the replay and runs it in the background; poll `status(id)`. */
  async start(topic: string, request: ReplayRequest, actor: string): Promise<ReplayRow> {
    const watermarks = await this.browse.assertDlq(topic);
    const id = randomUUID();
    await this.repository.create({ id, dlq_topic: topic, actor, filter: request, dry_run: request.dryRun });
    this.logger.info({ replay_id: id, topic, actor, filter: request }, 'replay started');
    const run = this.run(id, topic, request, watermarks)
      .catch(async (error: Error) => {
        this.logger.error({ replay_id: id, error }, 'replay failed');
        await this.repository.finish(id, 'failed', error.message).catch(() => undefined);
      })
      .finally(() => this.running.delete(run));
    this.running.add(run);
    return (await this.repository.get(id)) as ReplayRow;
  }

  async status(id: string): Promise<ReplayRow> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await this.repository.get(id) : undefined;
    if (!row) throw new NotFoundException(`replay ${id} not found`);
    return row;
  }

  recent(limit = 100): Promise<ReplayRow[]> {
    return this.repository.recent(limit);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async run(
    id: string,
    topic: string,
    request: ReplayRequest,
    watermarks: Array<{ partition: number; low: bigint; high: bigint }>,
  ): Promise<void> {
    const counts: ReplayCounts = { selected: 0, sent: 0, skipped: 0, not_replayable: 0, would_send: 0 };
    const source = topic.slice(0, -DLQ_SUFFIX.length);
    const wanted = request.offsets ? new Set(request.offsets.map(String)) : undefined;
    for (const w of watermarks) {
      let from = w.low;
      let to = w.high;
      if (request.offsetFrom !== undefined && BigInt(request.offsetFrom) > from) from = BigInt(request.offsetFrom);
      if (request.offsetTo !== undefined && BigInt(request.offsetTo) + 1n < to) to = BigInt(request.offsetTo) + 1n;
      if (wanted && wanted.size > 0) {
        const listed = [...wanted].map(Number);
        const min = BigInt(Math.min(...listed));
        const max = BigInt(Math.max(...listed));
        if (min > from) from = min;
        if (max + 1n < to) to = max + 1n;
      }
      const selected: DlqRecord[] = [];
      const read = await this.browse.reader.read({
        topic,
        ranges: [{ partition: w.partition, from, to }],
        deadlineMs: this.config.REPLAY_READ_TIMEOUT_MS,
        visit: async (partition, message) => {
          if (wanted && !wanted.has(message.offset)) return true;
          const record = await readRecord(this.browse.serde, topic, partition, message);
          if (record.envelope && matchesFilter(record, request)) selected.push(record);
          return selected.length < this.config.REPLAY_MAX_RECORDS;
        },
      });
      if (!read.complete) {
        throw new Error(
          `reading ${topic}[${w.partition}] did not finish within ${this.config.REPLAY_READ_TIMEOUT_MS} ms`,
        );
      }
      counts.selected += selected.length;
      // Collector rejections never reached Kafka (the original is a JSON item, not the topic's format), and an
      // envelope naming another topic is not this DLQ's to replay.
      const replayable = selected.filter((r) => {
        const e = r.envelope;
        const ok = e !== null && e.original_offset !== null && e.original_topic === source;
        if (!ok) counts.not_replayable += 1;
        return ok;
      });
      for (let i = 0; i < replayable.length; i += this.config.REPLAY_BATCH_SIZE) {
        const chunk = replayable.slice(i, i + this.config.REPLAY_BATCH_SIZE);
        if (request.dryRun) {
          const done = await this.repository.alreadyReplayed(
            topic,
            w.partition,
            chunk.map((r) => r.offset),
          );
          counts.skipped += done.size;
          counts.would_send += chunk.length - done.size;
        } else {
          await this.sendChunk(id, topic, w.partition, chunk, counts);
        }
        await this.repository.progress(id, counts);
      }
      await this.repository.progress(id, counts);
    }
    const outcome = request.dryRun ? 'dry-run' : 'sent';
    this.metrics.replayed.inc({ dlq_topic: topic, outcome }, request.dryRun ? counts.would_send : counts.sent);
    this.metrics.replayed.inc({ dlq_topic: topic, outcome: 'skipped' }, counts.skipped);
    this.metrics.replayed.inc({ dlq_topic: topic, outcome: 'not-replayable' }, counts.not_replayable);
    await this.repository.finish(id, 'completed');
    this.logger.info({ replay_id: id, topic, ...counts }, 'replay completed');
  }

  private async sendChunk(
    id: string,
    topic: string,
    partition: number,
    chunk: DlqRecord[],
    counts: ReplayCounts,
  ): Promise<void> {
    await this.repository.dataSource.transaction(async (manager) => {
      const claimed = await this.repository.claim(
        manager,
        id,
        topic,
        partition,
        chunk.map((r) => ({ offset: r.offset, originalTopic: r.envelope?.original_topic ?? '' })),
      );
      const toSend = chunk.filter((r) => claimed.has(r.offset));
      const messages = toSend.map((r) => replayMessage(id, topic, r));
      // The claim commits only after Kafka acknowledged the re-send; a failed send rolls the claim back.
      if (messages.length > 0) {
        const target = toSend[0].envelope?.original_topic as string;
        await this.producer.sendRaw(target, messages, { timeoutMs: 30_000 });
      }
      counts.sent += toSend.length;
      counts.skipped += chunk.length - toSend.length;
    });
  }
}

/** The original key, bytes and headers, plus headers saying where the message comes from. */
export function replayMessage(replayId: string, dlqTopic: string, record: DlqRecord): Message {
  const e = record.envelope;
  if (!e) throw new Error('record has no envelope');
  const headers: IHeaders = {};
  for (const h of e.original_headers) {
    if (Object.values(REPLAY_HEADERS).includes(h.key as never)) continue; // a replay of a replay: fresh ones
    const value = h.value ?? undefined;
    const existing = headers[h.key];
    if (existing === undefined) headers[h.key] = value;
    else headers[h.key] = [...(Array.isArray(existing) ? existing : [existing]), value] as Buffer[];
  }
  headers[REPLAY_HEADERS.replayId] = replayId;
  headers[REPLAY_HEADERS.originalTopic] = e.original_topic;
  headers[REPLAY_HEADERS.originalPartition] = String(e.original_partition ?? '');
  headers[REPLAY_HEADERS.originalOffset] = String(e.original_offset ?? '');
  headers[REPLAY_HEADERS.dlqTopic] = dlqTopic;
  headers[REPLAY_HEADERS.dlqOffset] = record.offset;
  return { key: e.original_key, value: e.original_value, headers };
}
