import {
  type EnrichedEvent,
  type FeatureVector,
  failureKinds,
  type Label,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { applyEvent, type EntityState, emptyEntityState, type FeatureSet, onlineFeatures } from '@flywheel/features';
import {
  type AvroSerde,
  ConsumerLagProbe,
  CrashRestarter,
  DeadLetterPublisher,
  type FailedMessage,
  type FlywheelProducer,
  failSpan,
  failureKindOf,
  isRetriable,
  KafkaMetrics,
  type MessageSpan,
  startProcessSpan,
  tagEventId,
} from '@flywheel/kafka';
import { type Context, context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FeatureStore } from '../store/feature-store';
import { MaterializerMetrics } from './materializer-metrics';

export interface MaterializerOptions {
  kafka: Kafka;
  serde: AvroSerde;
  producer: FlywheelProducer;
  store: FeatureStore;
  featureSet: FeatureSet;
  namespace: string;
  groupId: string;
  stage: string;
  topicPrefix: string;
  /** Produce vectors to features.vectors.v1 (live) or only write state + offline log (rebuild). */
  emitVectors: boolean;
  consumeLabels: boolean;
  partitionsConcurrently: number;
  maxWaitTimeInMs: number;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  metrics: Registry;
  logger: Logger;
}

/** Entity state cached in memory per input partition, valid while the stored offset is the one we wrote. */
interface PartitionCache {
  next: number | null;
  entities: Map<string, EntityState>;
}

class SkipBatch extends Error {}

const VECTORS_PER_SEND = 250;
/** Least time between two offset hints of one partition. */
const HINT_INTERVAL_MS = 1_000;

/**
 * Exactly-once state from events.enriched.v1 (Kafka's recipe for external state):
 *
 * - autoCommit off; Postgres `consumer_offsets` (per namespace, topic, partition) is the position of
 *   record, written in the SAME transaction as the entity state, online row and offline log rows.
 * - Each batch opens a transaction and locks its partition's offset row. Messages below the stored
 *   offset are skipped (already applied: a redelivery, a restart from an older Kafka position, or the
 *   previous owner of a partition after a rebalance finishing its batch first). A batch starting after
 *   the stored offset is never applied: the member seeks back to the stored offset instead.
 * - Vectors and dead letters are produced and acknowledged BEFORE COMMIT: a crash between the produce
 *   and the commit re-emits them (at-least-once output, deduped downstream by event_id) but the state
 *   is applied once (the transaction rolled back).
 * - Kafka's committed offset is written after COMMIT only as a hint so a new owner starts near the right
 *   place; when it is behind, the batch filter skips, when it is missing, fromBeginning + seek. At most one
 *   hint per partition per HINT_INTERVAL_MS: one OffsetCommit per batch was a broker request per batch for
 *   a value nobody relies on.
 */
export class Materializer {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private readonly caches = new Map<string, PartitionCache>();
  /** Each partition's offset hint to Kafka (keyed like `caches`): when one was last sent, the newest one. */
  private readonly hints = new Map<string, { sentAt: number; next: number; timer: NodeJS.Timeout | undefined }>();
  private readonly deadLetters: DeadLetterPublisher;
  private readonly metrics: MaterializerMetrics;
  private readonly kafkaMetrics: KafkaMetrics;
  private readonly lagProbe: ConsumerLagProbe;
  private readonly enrichedTopic: string;
  private readonly labelsTopic: string;
  private readonly vectorsTopic: string;
  private running = false;
  private readonly restarter: CrashRestarter;
  private crashed: Error | undefined;
  private assigned: Record<string, number[]> = {};

  constructor(private readonly options: MaterializerOptions) {
    this.enrichedTopic = withPrefix(options.topicPrefix, topics.eventsEnriched);
    this.labelsTopic = withPrefix(options.topicPrefix, topics.labels);
    this.vectorsTopic = withPrefix(options.topicPrefix, topics.featureVectors);
    this.deadLetters = new DeadLetterPublisher(options.producer, options.stage);
    this.metrics = new MaterializerMetrics(options.metrics, () => options.store.entityCount(options.namespace));
    this.kafkaMetrics = KafkaMetrics.for(options.metrics);
    // Kafka's committed offset is only a hint here, but the probe prefers this member's own position.
    this.lagProbe = new ConsumerLagProbe({
      kafka: options.kafka,
      groupId: options.groupId,
      metrics: this.kafkaMetrics,
      intervalMs: 5_000,
      fromBeginning: true,
      logger: options.logger,
    });
    this.admin = options.kafka.admin();
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: options.maxWaitTimeInMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      allowAutoTopicCreation: false,
      retry: { retries: 8, restartOnFailure: async () => true },
    });
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.crashed = undefined;
      this.assigned = payload.memberAssignment as Record<string, number[]>;
      this.lagProbe.assigned(this.assigned);
      // Drop cached state of partitions we no longer own (the offset check would catch it anyway).
      for (const key of this.caches.keys()) {
        const [topic, partition] = splitKey(key);
        if (!this.assigned[topic]?.includes(partition)) this.caches.delete(key);
      }
      options.logger.info({ group: options.groupId, assignment: this.assigned }, 'joined consumer group');
    });
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.crashed = payload.error;
      options.logger.error({ error: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    this.restarter = new CrashRestarter(this.consumer, () => this.running, {
      groupId: options.groupId,
      logger: options.logger,
    });
  }

  get topics(): string[] {
    return this.options.consumeLabels ? [this.enrichedTopic, this.labelsTopic] : [this.enrichedTopic];
  }

  health(): { ok: boolean; detail?: string } {
    if (this.crashed) return { ok: false, detail: `consumer crashed: ${this.crashed.message}` };
    if (!this.running) return { ok: false, detail: 'consumer not running' };
    return { ok: true };
  }

  async start(): Promise<void> {
    await this.admin.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await this.restarter.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrently,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.running = true;
    this.kafkaMetrics.consumerUp.set({ group: this.options.groupId }, 1);
    this.lagProbe.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const hint of this.hints.values()) clearTimeout(hint.timer);
    this.restarter.cancel();
    await this.consumer.disconnect();
    await this.admin.disconnect();
    this.kafkaMetrics.consumerUp.set({ group: this.options.groupId }, 0);
    await this.lagProbe.stop();
  }

  /** Rebuild: true once every partition's stored offset reached the given end offsets. */
  async caughtUp(endOffsets: Map<number, number>): Promise<boolean> {
    const stored = await this.options.store.offsets(this.options.namespace, this.enrichedTopic);
    for (const [partition, end] of endOffsets) {
      if (end === 0) continue;
      if ((stored.get(partition) ?? -1) < end) return false;
    }
    return true;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0 || !payload.isRunning() || payload.isStale()) return;
    const labels = { topic: batch.topic, group: this.options.groupId };
    this.kafkaMetrics.consumed.inc(labels, batch.messages.length);
    const stopTimer = this.kafkaMetrics.batchDuration.startTimer(labels);
    const last = Number(batch.messages[batch.messages.length - 1].offset);
    try {
      if (batch.topic === this.enrichedTopic) {
        const decoded = await this.decodeEvents(batch.messages);
        // DDL outside any transaction: creating a partition waits for open inserts into the parent, so
        // doing it inside ours could deadlock with a concurrently processed partition.
        await this.options.store.ensureOfflinePartitions(
          [...decoded.values()].flatMap((d) => (d instanceof Error ? [] : [d.event_time])),
        );
        // The order of the offline rows' values (a no-op after the first batch).
        await this.options.store.registerFeatureSet(this.options.featureSet);
        await this.inTransaction(payload, (tx, messages, next) =>
          this.applyEvents(tx, batch.partition, messages, decoded, next),
        );
      } else {
        await this.inTransaction(payload, async (tx, messages) => {
          await this.applyLabels(tx, batch.partition, messages);
          return undefined;
        });
      }
    } catch (error) {
      if (error instanceof SkipBatch) return;
      throw error;
    }
    payload.resolveOffset(String(last));
    this.hintOffset(batch.topic, batch.partition, last + 1);
    await payload.heartbeat().catch(() => undefined);
    stopTimer();
    this.kafkaMetrics.batchSize.observe(labels, batch.messages.length);
    this.lagProbe.processed(batch.topic, batch.partition, BigInt(last + 1), BigInt(batch.highWatermark));
  }

  /**
   * A hint for the next owner; Postgres stays the source of truth, so a stale or failed hint is harmless. A
   * hint held back by the interval is sent when it ends, so an idle group's committed offsets (the lag that
   * `flywheel topics` and Grafana show) still reach the end.
   */
  private hintOffset(topic: string, partition: number, next: number): void {
    const key = partitionKey(topic, partition);
    const hint = this.hints.get(key) ?? { sentAt: 0, next: -1, timer: undefined };
    this.hints.set(key, hint);
    hint.next = next;
    const wait = hint.sentAt + HINT_INTERVAL_MS - Date.now();
    if (wait > 0) {
      hint.timer ??= setTimeout(() => {
        hint.timer = undefined;
        if (this.running) this.hintOffset(topic, partition, hint.next);
      }, wait).unref();
      return;
    }
    hint.sentAt = Date.now();
    this.consumer.commitOffsets([{ topic, partition, offset: String(next) }]).catch(() => undefined);
  }

  /**
   * BEGIN → lock the partition's offset → apply the messages not yet applied → save the offset →
   * produce (inside `work`) → COMMIT. Throws SkipBatch when the batch must not be applied (seeked).
   */
  private async inTransaction(
    payload: EachBatchPayload,
    work: (tx: PoolClient, messages: KafkaMessage[], nextOffset: number) => Promise<'offset-saved' | undefined>,
  ): Promise<void> {
    const { batch } = payload;
    const key = partitionKey(batch.topic, batch.partition);
    const { store, namespace, groupId } = this.options;
    const tx = await store.pool.connect();
    const stopTimer = this.metrics.commitDuration.startTimer();
    let open = false;
    try {
      await tx.query('BEGIN');
      open = true;
      const stored = await store.lockOffset(tx, namespace, batch.topic, batch.partition, groupId);
      const first = Number(batch.messages[0].offset);
      const last = Number(batch.messages[batch.messages.length - 1].offset);
      if (stored !== null && first > stored && !(await this.retentionGap(batch.topic, batch.partition, stored))) {
        // Kafka's position ran ahead of what Postgres holds: go back, never skip an event.
        this.options.logger.info({ topic: batch.topic, partition: batch.partition, stored, first }, 'seek to stored');
        this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(stored) });
        throw new SkipBatch();
      }
      const messages = stored === null ? batch.messages : batch.messages.filter((m) => Number(m.offset) >= stored);
      if (messages.length < batch.messages.length) {
        this.metrics.rebalanceSkips.inc({ reason: 'already-applied' }, batch.messages.length - messages.length);
      }
      if (messages.length === 0) {
        await tx.query('ROLLBACK');
        open = false;
        if (stored !== null && stored > last + 1) {
          this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(stored) });
          throw new SkipBatch();
        }
        return;
      }
      const cache = this.caches.get(key);
      if (cache && cache.next !== stored) cache.entities.clear();
      const saved = await work(tx, messages, last + 1);
      if (saved !== 'offset-saved')
        await store.saveOffset(tx, namespace, batch.topic, batch.partition, last + 1, groupId);
      await tx.query('COMMIT');
      open = false;
      const after = this.caches.get(key);
      if (after) after.next = last + 1;
    } catch (error) {
      // The in-memory state may hold changes the rollback undid: forget it, reload from Postgres.
      this.caches.delete(key);
      if (open) await tx.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      tx.release();
      stopTimer();
    }
  }

  /** A gap that retention made (the stored offset was deleted from the log) is the only gap accepted. */
  private async retentionGap(topic: string, partition: number, stored: number): Promise<boolean> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    const low = Number(offsets.find((o) => o.partition === partition)?.low ?? 0);
    if (low > stored) {
      this.options.logger.warn(
        { topic, partition, stored, low },
        'offsets between the stored position and the log start were deleted by retention',
      );
      return true;
    }
    return false;
  }

  private cacheFor(partition: number): PartitionCache {
    const key = partitionKey(this.enrichedTopic, partition);
    let cache = this.caches.get(key);
    if (!cache) {
      cache = { next: null, entities: new Map() };
      this.caches.set(key, cache);
    }
    return cache;
  }

  /** Decodes a batch up front; a poison message maps to its (non-retriable) error. */
  private async decodeEvents(messages: KafkaMessage[]): Promise<Map<string, EnrichedEvent | Error>> {
    const out = new Map<string, EnrichedEvent | Error>();
    for (const message of messages) {
      try {
        out.set(message.offset, await this.options.serde.decode<EnrichedEvent>(this.enrichedTopic, message.value));
      } catch (error) {
        if (isRetriable(error)) throw error;
        out.set(message.offset, error as Error);
      }
    }
    return out;
  }

  /** One `<topic> process` span per event, continuing the enrichment's trace; its vector or dead letter continues it. */
  private async applyEvents(
    tx: PoolClient,
    partition: number,
    messages: KafkaMessage[],
    decodedByOffset: Map<string, EnrichedEvent | Error>,
    nextOffset: number,
  ): Promise<'offset-saved'> {
    const spans = new Map<KafkaMessage, MessageSpan>();
    for (const message of messages) {
      spans.set(message, startProcessSpan(this.enrichedTopic, partition, this.options.groupId, message));
    }
    try {
      return await this.applyTracedEvents(tx, partition, messages, decodedByOffset, nextOffset, spans);
    } catch (error) {
      for (const { span } of spans.values()) failSpan(span, error);
      throw error;
    } finally {
      for (const { span } of spans.values()) span.end();
    }
  }

  private async applyTracedEvents(
    tx: PoolClient,
    partition: number,
    messages: KafkaMessage[],
    decodedByOffset: Map<string, EnrichedEvent | Error>,
    nextOffset: number,
    spans: Map<KafkaMessage, MessageSpan>,
  ): Promise<'offset-saved'> {
    const { featureSet, namespace, store, groupId } = this.options;
    const failures: FailedMessage[] = [];
    const decoded: { message: KafkaMessage; event: EnrichedEvent }[] = [];
    for (const message of messages) {
      const value = decodedByOffset.get(message.offset);
      if (value instanceof Error || value === undefined) {
        const error = value ?? new Error('message not decoded');
        failures.push(this.failure(this.enrichedTopic, partition, message, error, failureKindOf(error)));
      } else {
        decoded.push({ message, event: value });
        const messageSpan = spans.get(message);
        if (messageSpan) tagEventId(messageSpan.span, value);
      }
    }
    const cache = this.cacheFor(partition);
    const missing = [...new Set(decoded.map((d) => d.event.account_id).filter((e) => e && !cache.entities.has(e)))];
    if (missing.length > 0) {
      const loaded = await store.loadStates(tx, namespace, missing);
      for (const entity of missing)
        cache.entities.set(entity, loaded.get(entity) ?? emptyEntityState(featureSet, entity));
    }
    const vectors: FeatureVector[] = [];
    const vectorContexts: (Context | undefined)[] = [];
    const touched = new Map<string, EntityState>();
    for (const { message, event } of decoded) {
      const entity = event.account_id;
      const state = entity ? cache.entities.get(entity) : undefined;
      const outcome = applyEvent(featureSet, state ?? emptyEntityState(featureSet, ''), event, message.key?.toString());
      this.metrics.events.inc({ outcome: outcome.kind });
      if (outcome.kind === 'vector') {
        vectors.push(outcome.vector);
        vectorContexts.push(spans.get(message)?.context);
        if (state) touched.set(entity, state);
      } else if (outcome.kind === 'late') {
        this.metrics.lateEvents.inc();
        failures.push(
          this.failure(
            this.enrichedTopic,
            partition,
            message,
            new Error(outcome.reason),
            failureKinds.lateEvent,
            event.event_id,
          ),
        );
      } else if (outcome.kind === 'invalid') {
        failures.push(
          this.failure(
            this.enrichedTopic,
            partition,
            message,
            new Error(outcome.reason),
            failureKinds.schemaViolation,
            event.event_id,
          ),
        );
      }
    }
    const states = [...touched.values()];
    const online = states.map((st) => ({
      entity: st.entity,
      as_of: st.maxEventTime ?? 0,
      features: onlineFeatures(featureSet, st) ?? {},
    }));
    // The Postgres writes (one statement, offset included) and the produce of vectors and dead letters
    // overlap; COMMIT waits for both, so vectors are still acknowledged before the state is committed.
    const write = store.writeEventBatch(tx, {
      namespace,
      featureSet,
      topic: this.enrichedTopic,
      partition,
      nextOffset,
      group: groupId,
      states,
      online,
      vectors,
    });
    for (const failure of failures) {
      const messageSpan = spans.get(failure.message);
      failure.traceContext = messageSpan?.context;
      if (messageSpan) failSpan(messageSpan.span, failure.error, failure.kind);
    }
    await Promise.all([
      write,
      this.emitVectors(vectors, vectorContexts),
      this.publishFailures(this.enrichedTopic, failures),
    ]);
    return 'offset-saved';
  }

  /** Produced and acknowledged before COMMIT: a crash from here on re-emits, never re-counts. */
  private async emitVectors(vectors: FeatureVector[], contexts: (Context | undefined)[]): Promise<void> {
    if (!this.options.emitVectors || vectors.length === 0) return;
    // Vectors of one input partition share one output partition (same key): chunk so a produce request's
    // record batch stays well under the broker's message.max.bytes (a vector is ~1.5 KB). The chunks are
    // submitted together; the producer's coalescer packs them into requests up to its byte limit, in order.
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < vectors.length; i += VECTORS_PER_SEND) {
      sends.push(
        this.options.producer.send(
          this.vectorsTopic,
          vectors
            .slice(i, i + VECTORS_PER_SEND)
            .map((v, j) => ({ key: v.entity, value: v, traceContext: contexts[i + j] })),
        ),
      );
    }
    await Promise.all(sends);
    this.metrics.vectorsEmitted.inc(vectors.length);
  }

  private async applyLabels(tx: PoolClient, partition: number, messages: KafkaMessage[]): Promise<void> {
    const failures: FailedMessage[] = [];
    const labels: Label[] = [];
    for (const message of messages) {
      try {
        const label = await this.options.serde.decode<Label>(this.labelsTopic, message.value);
        if (!label.event_id || !label.account_id || !Number.isFinite(label.label_time)) {
          failures.push(
            this.failure(
              this.labelsTopic,
              partition,
              message,
              new Error('label without event_id, account_id or label_time'),
              failureKinds.schemaViolation,
            ),
          );
        } else labels.push(label);
      } catch (error) {
        if (isRetriable(error)) throw error;
        failures.push(this.failure(this.labelsTopic, partition, message, error, failureKindOf(error)));
      }
    }
    await this.options.store.upsertLabels(tx, labels);
    this.metrics.labels.inc(labels.length);
    await this.publishFailures(this.labelsTopic, failures);
  }

  private failure(
    topic: string,
    partition: number,
    message: KafkaMessage,
    error: unknown,
    kind: string,
    eventId?: string,
  ): FailedMessage {
    return {
      topic,
      partition,
      message,
      error,
      kind,
      attempts: 1,
      firstFailureTime: Date.now(),
      eventId: eventId ?? null,
    };
  }

  private async publishFailures(topic: string, failures: FailedMessage[]): Promise<void> {
    if (failures.length === 0) return;
    await this.deadLetters.publish(failures);
    for (const f of failures) {
      this.kafkaMetrics.deadLettered.inc({ topic, group: this.options.groupId, kind: f.kind });
      // Logged inside the event's span: the line carries its trace.id.
      context.with(f.traceContext ?? ROOT_CONTEXT, () =>
        this.options.logger.warn(
          { topic, offset: f.message.offset, event_id: f.eventId ?? undefined, failure_kind: f.kind, error: f.error },
          'message dead-lettered',
        ),
      );
    }
  }
}

/** The key of a topic partition in `caches` and `hints` (splitKey reverses it). */
function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf('\u0000');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
