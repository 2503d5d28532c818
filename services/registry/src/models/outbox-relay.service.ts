import { type ModelLifecycle, topics } from '@flywheel/contracts';
import { FlywheelProducer, TopicNames } from '@flywheel/kafka';
import { HealthService, ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';
import { ModelRegistryMetrics } from './model-registry.metrics';
import { ModelRegistryService } from './model-registry.service';
import { MODELS_OPTIONS, type ModelsOptions } from './models.tokens';

const s = `"${DATABASE_SCHEMA}"`;
const BATCH = 100;
const SEND_TIMEOUT_MS = 15_000;
const MAX_BACKOFF_MS = 5_000;

interface OutboxRow {
  id: string;
  model_name: string;
  payload: ModelLifecycle;
}

/**
 * Sends committed lifecycle changes from the outbox to models.lifecycle.v1, then marks them sent. One round:
 * a transaction locks the oldest pending rows (`FOR UPDATE SKIP LOCKED`, so another registry replica takes other
 * rows instead of the same ones), sends them in id order and waits for the acknowledgement, marks them sent and
 * commits. A crash before the commit leaves the rows pending: they are sent again after the restart (a duplicate
 * with the same change_id when the crash came after the send; consumers dedupe on change_id). Nothing is lost:
 * the change and its outbox row were committed together.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnModuleDestroy {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private kicked = false;
  private failures = 0;
  private lastError?: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: FlywheelProducer,
    private readonly topicNames: TopicNames,
    private readonly registry: ModelRegistryService,
    private readonly metrics: ModelRegistryMetrics,
    private readonly health: HealthService,
    @Inject(MODELS_OPTIONS) private readonly options: ModelsOptions,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.registry.onCommit(() => this.kick());
    // Readiness stays true while Kafka is briefly down (changes queue in the outbox); the gauges and this detail
    // say how far behind the relay is.
    this.health.register('model-outbox-relay', () => ({
      ok: this.running,
      detail: this.lastError ? `retrying after: ${this.lastError}` : undefined,
    }));
    this.running = true;
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Sends soon instead of at the next poll (called after each commit). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let sent = 0;
      try {
        this.kicked = false;
        sent = await this.round();
        this.failures = 0;
        this.lastError = undefined;
      } catch (error) {
        this.failures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.metrics.relayErrors.inc();
        this.logger.warn({ err: error, failures: this.failures }, 'lifecycle outbox relay round failed; will retry');
      }
      if (!this.running) break;
      // A full batch means more may be waiting: go again at once.
      if (sent === BATCH) continue;
      const delay =
        this.failures > 0
          ? Math.min(MAX_BACKOFF_MS, this.options.outboxPollMs * 2 ** Math.min(this.failures, 5))
          : this.options.outboxPollMs;
      await this.sleep(delay);
    }
  }

  /** Waits for the poll interval, or less when a commit kicks (not while backing off after a failure). */
  private sleep(ms: number): Promise<void> {
    if (this.kicked && this.failures === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wake = () => {
        if (!this.running || this.failures === 0) finish();
      };
    });
  }

  /** One transaction: lock, send, mark. Returns how many rows it sent. */
  async round(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const locked: OutboxRow[] = await runner.query(
        `SELECT id, model_name, payload FROM ${s}.model_outbox
         WHERE sent_at IS NULL AND created_at <= clock_timestamp() - make_interval(secs => $1::float8 / 1000)
         ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [this.options.outboxRelayDelayMs],
      );
      if (locked.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      // Order per model: if another replica holds an older pending row of a model, leave that model's rows for
      // later (sending ours first would put an older state after a newer one on the compacted topic).
      const oldest = new Map<string, string>(
        (
          await runner.query(
            `SELECT model_name, min(id)::text AS id FROM ${s}.model_outbox
             WHERE sent_at IS NULL AND model_name = ANY($1) GROUP BY model_name`,
            [[...new Set(locked.map((r) => r.model_name))]],
          )
        ).map((r: { model_name: string; id: string }) => [r.model_name, r.id]),
      );
      const firstLocked = new Map<string, string>();
      for (const row of locked) if (!firstLocked.has(row.model_name)) firstLocked.set(row.model_name, row.id);
      const rows = locked.filter((row) => oldest.get(row.model_name) === firstLocked.get(row.model_name));
      if (rows.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      const stopTimer = this.metrics.relaySendLatency.startTimer();
      await this.producer.send(
        this.topicNames.of(topics.modelsLifecycle),
        rows.map((row) => ({
          key: row.model_name,
          value: row.payload,
          headers: { 'flywheel-change-id': row.payload.change_id },
          timestamp: row.payload.changed_at,
        })),
        { timeoutMs: SEND_TIMEOUT_MS },
      );
      stopTimer();
      await runner.query(`UPDATE ${s}.model_outbox SET sent_at = clock_timestamp() WHERE id = ANY($1::bigint[])`, [
        rows.map((r) => r.id),
      ]);
      await runner.commitTransaction();
      this.metrics.relaySent.inc(rows.length);
      return rows.length;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }
}
