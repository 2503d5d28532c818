import { failureKinds } from '@flywheel/contracts';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DeadLetterPublisher, type FailedMessage } from '../dead-letter/dead-letter';
import { failureKindOf, isRetriable, NonRetriableError } from '../errors';
import { ConsumerLagProbe } from '../metrics/consumer-lag-probe';
import { KafkaMetrics } from '../metrics/kafka-metrics';
import type { FlywheelProducer } from '../producer/flywheel-producer';
import type { AvroSerde } from '../serde/avro-serde';
import { failSpan, type MessageSpan, startProcessSpan, tagEventId } from '../tracing/message-spans';
import { CrashRestarter } from './crash-restarter';
import type { BatchHandler, DecodedMessage, RejectedMessage } from './decoded-message';
import { backoffMs, defaultRetryPolicy, type RetryPolicy } from './retry-policy';

export interface TopicRoute {
  topic: string;
  // biome-ignore lint/suspicious/noExplicitAny: each route decodes its own value type; the runner does not care which.
  handler: BatchHandler<any>;
  /** 'message': the handler gets one message at a time; 'batch': up to maxBatchSize at once. */
  mode: 'batch' | 'message';
}

export interface BatchConsumerOptions {
  kafka: Kafka;
  serde: AvroSerde;
  /** Used for DLQ envelopes; the handler's own output goes through whatever producer it holds. */
  producer: FlywheelProducer;
  groupId: string;
  /** Service name recorded as the DLQ envelope's stage. */
  stage: string;
  routes: TopicRoute[];
  fromBeginning?: boolean;
  maxBatchSize?: number;
  retry?: Partial<RetryPolicy>;
  partitionsConsumedConcurrently?: number;
  maxWaitTimeInMs?: number;
  sessionTimeoutMs?: number;
  consumerConfig?: Partial<ConsumerConfig>;
  metricsRegistry?: Registry;
  /** How often the lag gauge of owned partitions is refreshed from the brokers between batches (0 = off). */
  lagProbeIntervalMs?: number;
  logger?: Logger;
}

/**
 * At-least-once batch consumer: decode → handle → produce (inside the handler) → commit. An offset is
 * resolved only after its message was handled or dead-lettered with acks=all, so a crash at any point
 * redelivers instead of losing. Poison messages go to `<topic>.dlq` with their original bytes and the
 * consumer moves on; transient failures back off and retry, then dead-letter.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private readonly routes: Map<string, TopicRoute>;
  private readonly retry: RetryPolicy;
  private readonly deadLetters: DeadLetterPublisher;
  private readonly metrics?: KafkaMetrics;
  private readonly lagProbe?: ConsumerLagProbe;
  private readonly maxBatchSize: number;
  private running = false;
  private readonly restarter: CrashRestarter;
  private crashed: Error | undefined;
  private assignedPartitions = 0;

  constructor(private readonly options: BatchConsumerOptions) {
    this.routes = new Map(options.routes.map((route) => [route.topic, route]));
    this.retry = { ...defaultRetryPolicy, ...options.retry };
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.deadLetters = new DeadLetterPublisher(options.producer, options.stage);
    this.metrics = options.metricsRegistry ? KafkaMetrics.for(options.metricsRegistry) : undefined;
    if (this.metrics) {
      this.lagProbe = new ConsumerLagProbe({
        kafka: options.kafka,
        groupId: options.groupId,
        metrics: this.metrics,
        intervalMs: options.lagProbeIntervalMs ?? 5_000,
        fromBeginning: options.fromBeginning ?? true,
        logger: options.logger,
      });
    }
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: 3_000,
      // How long an idle fetch waits at the broker; data ends the wait at once (minBytes 1), so a longer one
      // costs no latency and spares the broker and this process most idle polls.
      maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
      allowAutoTopicCreation: false,
      retry: { retries: 8, restartOnFailure: async () => true },
      ...options.consumerConfig,
    });
    this.restarter = new CrashRestarter(this.consumer, () => this.running, {
      groupId: options.groupId,
      logger: options.logger,
    });
    this.watchEvents();
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Partitions assigned to this member at its last group join (0 = idle: more members than partitions). */
  get assignedPartitionCount(): number {
    return this.assignedPartitions;
  }

  /** Ready while the member runs and has not crashed; an idle member (no partitions) is still ready. */
  health(): { ok: boolean; detail?: string } {
    if (this.crashed) return { ok: false, detail: `consumer crashed: ${this.crashed.message}` };
    if (!this.running) return { ok: false, detail: 'consumer not running' };
    return { ok: true, detail: `${this.assignedPartitions} partitions assigned` };
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: [...this.routes.keys()],
      // A new group starts at the earliest offset: a service deployed after its producers must not skip
      // what they already wrote. A group with committed offsets resumes from them either way.
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await this.restarter.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      autoCommitInterval: 1_000,
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.running = true;
    this.metrics?.consumerUp.set({ group: this.options.groupId }, 1);
    this.lagProbe?.start();
  }

  /** Stops fetching, lets the in-flight batch finish and commits what it resolved. */
  async stop(): Promise<void> {
    this.running = false;
    this.restarter.cancel();
    await this.consumer.disconnect();
    this.metrics?.consumerUp.set({ group: this.options.groupId }, 0);
    await this.lagProbe?.stop();
  }

  /** For tests and tools: the kafkajs consumer (seek, pause, describeGroup). */
  unwrap(): Consumer {
    return this.consumer;
  }

  private watchEvents(): void {
    const { events } = this.consumer;
    this.consumer.on(events.CRASH, ({ payload }) => {
      this.crashed = payload.error;
      this.metrics?.consumerUp.set({ group: this.options.groupId }, 0);
      this.options.logger?.error(
        { error: payload.error, restart: payload.restart, group: this.options.groupId },
        'consumer crashed',
      );
    });
    this.consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.crashed = undefined;
      this.metrics?.consumerUp.set({ group: this.options.groupId }, 1);
      const assignment = payload.memberAssignment as Record<string, number[]>;
      this.assignedPartitions = Object.values(assignment).reduce((n, parts) => n + parts.length, 0);
      this.lagProbe?.assigned(assignment);
      const log = this.options.logger;
      if (this.assignedPartitions === 0) {
        log?.warn(
          { group: this.options.groupId },
          'joined the group with no partitions assigned: more instances than partitions, this one idles',
        );
      } else {
        log?.info({ group: this.options.groupId, assignment }, 'joined consumer group');
      }
    });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const route = this.routes.get(batch.topic);
    if (!route) throw new Error(`no handler for topic ${batch.topic}`);
    const labels = { topic: batch.topic, group: this.options.groupId };
    this.metrics?.consumed.inc(labels, batch.messages.length);

    for (let start = 0; start < batch.messages.length; start += this.maxBatchSize) {
      // A revoked partition's remaining messages belong to its new owner: stop without resolving them.
      if (!payload.isRunning() || payload.isStale()) return;
      const chunk = batch.messages.slice(start, start + this.maxBatchSize);
      const stopTimer = this.metrics?.batchDuration.startTimer(labels);
      await this.processChunk(route, batch.partition, chunk, payload);
      payload.resolveOffset(chunk[chunk.length - 1].offset);
      await payload.commitOffsetsIfNecessary();
      await payload.heartbeat();
      stopTimer?.();
      this.metrics?.batchSize.observe(labels, chunk.length);
      const next = BigInt(chunk[chunk.length - 1].offset) + 1n;
      this.lagProbe?.processed(batch.topic, batch.partition, next, BigInt(batch.highWatermark));
    }
  }

  private async processChunk(
    route: TopicRoute,
    partition: number,
    chunk: KafkaMessage[],
    payload: EachBatchPayload,
  ): Promise<void> {
    // One span per message, continuing its producer's trace: every event keeps its own trace through the batch.
    const spans = new Map<KafkaMessage, MessageSpan>();
    for (const message of chunk)
      spans.set(message, startProcessSpan(route.topic, partition, this.options.groupId, message));
    try {
      const failures: FailedMessage[] = [];
      const decoded: DecodedMessage<unknown>[] = [];
      for (const message of chunk) {
        try {
          decoded.push(await this.decode(route.topic, partition, message, spans.get(message)));
        } catch (error) {
          // Registry unreachable is not the message's fault: fail the batch so kafkajs retries it later.
          if (isRetriable(error)) throw error;
          failures.push(this.failure(route.topic, partition, message, error, 1, Date.now()));
        }
      }
      if (decoded.length > 0) {
        if (route.mode === 'message') {
          for (const message of decoded) failures.push(...(await this.handleWithRetry(route, [message], payload)));
        } else {
          failures.push(...(await this.handleBatch(route, decoded, payload)));
        }
      }
      for (const failure of failures) {
        const messageSpan = spans.get(failure.message);
        failure.traceContext = messageSpan?.context;
        if (messageSpan) failSpan(messageSpan.span, failure.error, failure.kind);
      }
      if (failures.length > 0) await this.deadLetter(route.topic, failures);
      this.metrics?.handled.inc(
        { topic: route.topic, group: this.options.groupId, outcome: 'ok' },
        chunk.length - failures.length,
      );
    } catch (error) {
      for (const { span } of spans.values()) failSpan(span, error);
      throw error;
    } finally {
      for (const { span } of spans.values()) span.end();
    }
  }

  private async decode(
    topic: string,
    partition: number,
    message: KafkaMessage,
    messageSpan?: MessageSpan,
  ): Promise<DecodedMessage<unknown>> {
    const value = await this.options.serde.decode(topic, message.value);
    if (messageSpan) tagEventId(messageSpan.span, value);
    return {
      topic,
      partition,
      offset: message.offset,
      key: message.key ? message.key.toString() : null,
      value,
      headers: message.headers ?? {},
      timestamp: Number(message.timestamp),
      raw: message,
      traceContext: messageSpan?.context,
    };
  }

  /**
   * A batch that fails as a whole is retried as a whole (transient errors); when it keeps failing or
   * fails with a non-retriable error, each message is retried alone so one poison message cannot take
   * the rest of the batch to the DLQ with it.
   */
  private async handleBatch(
    route: TopicRoute,
    messages: DecodedMessage<unknown>[],
    payload: EachBatchPayload,
  ): Promise<FailedMessage[]> {
    const first = Date.now();
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      try {
        return this.rejectedToFailures(await this.invoke(route, messages), attempt, first);
      } catch (error) {
        lastError = error;
        if (!isRetriable(error) || messages.length === 1) break;
        if (attempt < this.retry.maxAttempts) await this.backoff(route.topic, attempt, payload);
      }
    }
    if (messages.length === 1) {
      return this.handleWithRetry(route, messages, payload, lastError);
    }
    this.options.logger?.warn(
      { error: lastError, topic: route.topic, size: messages.length },
      'batch failed; retrying its messages one by one to isolate the poison',
    );
    const failures: FailedMessage[] = [];
    for (const message of messages) failures.push(...(await this.handleWithRetry(route, [message], payload)));
    return failures;
  }

  private async handleWithRetry(
    route: TopicRoute,
    messages: DecodedMessage<unknown>[],
    payload: EachBatchPayload,
    previousError?: unknown,
  ): Promise<FailedMessage[]> {
    const first = Date.now();
    let lastError = previousError;
    // A message that already failed non-retriably in its batch is not retried again.
    if (previousError !== undefined && !isRetriable(previousError)) {
      return messages.map((m) => this.failure(route.topic, m.partition, m.raw, previousError, 1, first, m));
    }
    // Retriable failures: maxAttempts AND retryForMs, so a dependency outage shorter than retryForMs delays the
    // message instead of dead-lettering it (the fault suite's Postgres restart dead-lettered events before).
    const retryUntil = first + this.retry.retryForMs;
    let attempt = 1;
    for (; ; attempt++) {
      try {
        return this.rejectedToFailures(await this.invoke(route, messages), attempt, first);
      } catch (error) {
        lastError = error;
        if (!isRetriable(error)) {
          return messages.map((m) => this.failure(route.topic, m.partition, m.raw, error, attempt, first, m));
        }
        if (attempt >= this.retry.maxAttempts && Date.now() >= retryUntil) break;
        // The partition was revoked or the consumer is stopping: hand the message back (it is redelivered to
        // whoever owns the partition next) rather than dead-letter it or hold up the shutdown.
        if (!payload.isRunning() || payload.isStale()) throw error;
        await this.backoff(route.topic, attempt, payload);
      }
    }
    return messages.map((m) => this.failure(route.topic, m.partition, m.raw, lastError, attempt, first, m));
  }

  private async invoke(route: TopicRoute, messages: DecodedMessage<unknown>[]) {
    // A message handler runs inside its message's span (its logs and sends join that trace). A batch handler
    // runs in none: its work spans many traces, so it passes each message's traceContext to what it
    // produces for that message, and whatever else it does (aggregates) starts traces of its own.
    const active = route.mode === 'message' ? (messages[0]?.traceContext ?? ROOT_CONTEXT) : ROOT_CONTEXT;
    return context.with(active, () => route.handler(messages));
  }

  private rejectedToFailures(outcome: unknown, attempts: number, first: number): FailedMessage[] {
    const rejected = (outcome as { rejected?: RejectedMessage[] } | undefined)?.rejected ?? [];
    return rejected.map(({ message, error, kind }) =>
      this.failure(
        message.topic,
        message.partition,
        message.raw,
        error,
        attempts,
        first,
        message,
        kind ?? (error instanceof NonRetriableError ? error.kind : failureKinds.internal),
      ),
    );
  }

  private failure(
    topic: string,
    partition: number,
    message: KafkaMessage,
    error: unknown,
    attempts: number,
    firstFailureTime: number,
    decoded?: DecodedMessage<unknown>,
    kind = failureKindOf(error),
  ): FailedMessage {
    const value = decoded?.value as { event_id?: unknown } | undefined;
    const eventId = typeof value?.event_id === 'string' ? value.event_id : null;
    return { topic, partition, message, error, kind, attempts, firstFailureTime, eventId };
  }

  private async deadLetter(topic: string, failures: FailedMessage[]): Promise<void> {
    await this.deadLetters.publish(failures);
    for (const failure of failures) {
      this.metrics?.deadLettered.inc({ topic, group: this.options.groupId, kind: failure.kind });
      // Logged inside the message's span: the line carries the event's trace.id.
      context.with(failure.traceContext ?? ROOT_CONTEXT, () =>
        this.options.logger?.warn(
          {
            topic,
            partition: failure.partition,
            offset: failure.message.offset,
            event_id: failure.eventId ?? undefined,
            failure_kind: failure.kind,
            attempts: failure.attempts,
            error: failure.error,
          },
          'message dead-lettered',
        ),
      );
    }
    this.metrics?.handled.inc({ topic, group: this.options.groupId, outcome: 'dead-lettered' }, failures.length);
  }

  /** Sleeps between attempts while heartbeating, so a long backoff never gets the member kicked out. */
  private async backoff(topic: string, attempt: number, payload: EachBatchPayload): Promise<void> {
    this.metrics?.retries.inc({ topic, group: this.options.groupId });
    let remaining = backoffMs(this.retry, attempt);
    while (remaining > 0) {
      const slice = Math.min(remaining, 1_000);
      await new Promise((resolve) => setTimeout(resolve, slice));
      remaining -= slice;
      await payload.heartbeat();
    }
  }
}
