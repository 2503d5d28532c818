import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import { type IHeaders, type Kafka, type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';
import type { Registry } from 'prom-client';
import { RetriableError } from '../errors';
import { KafkaMetrics } from '../metrics/kafka-metrics';
import type { AvroSerde } from '../serde/avro-serde';
import { failSpan, PublishSpans } from '../tracing/message-spans';
import { injectTraceHeaders } from '../tracing/trace-headers';
import { PartitionAssigner } from './partition-assigner';
import { SendCoalescer } from './send-coalescer';

export interface OutgoingMessage<T> {
  key: string | Buffer | null;
  value: T;
  headers?: IHeaders;
  /** Event time in epoch millis, used as the Kafka record timestamp. */
  timestamp?: number;
  /**
   * The trace this message belongs to: a consumer passes the consumed message's `traceContext`, so each
   * event keeps its own trace through a micro-batch. Default: the active context.
   */
  traceContext?: Context;
}

export interface SendOptions {
  /**
   * Give up waiting after this long (RetriableError). The idempotent producer keeps retrying inside
   * kafkajs, so a timed-out send may still land: callers that answer "not stored" must tolerate a
   * duplicate, which downstream dedupe by event_id removes.
   */
  timeoutMs?: number;
}

const tracer = trace.getTracer('flywheel-kafka');
const MAX_RESEND_ROUNDS = 10;
/** Merged sends stay well under the broker's default 1 MiB message.max.bytes even on one partition. */
const MAX_MERGED_SEND_BYTES = 512 * 1024;

function messageBytes(message: Message): number {
  const size = (v: unknown) => (v == null ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v)));
  return size(message.key) + size(message.value) + 64;
}

/**
 * The only way services write to Kafka: idempotent, acks=all, Avro-encoded through the registry, with
 * the active trace context in the headers. Send many messages per call: kafkajs has no linger, so one
 * call is one request per broker.
 */
export class FlywheelProducer {
  private producer: Producer;
  private readonly createProducer: () => Producer;
  private replacing?: Promise<void>;
  private readonly assigner: PartitionAssigner;
  private readonly coalescer = new SendCoalescer<Message, RecordMetadata[]>(
    (topic, messages) => this.sendEveryPartition(topic, messages),
    MAX_MERGED_SEND_BYTES,
    messageBytes,
  );
  private readonly metrics?: KafkaMetrics;
  private connected = false;

  constructor(
    kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly options: { registry?: Registry; transactionalId?: string } = {},
  ) {
    this.createProducer = () => {
      const producer = kafka.producer({
        idempotent: true,
        // One request in flight per broker keeps per-partition order across retries.
        maxInFlightRequests: 1,
        // Unbounded retries (kafkajs' idempotent default): giving up mid-sequence would break idempotence.
        // Callers that must answer in bounded time use SendOptions.timeoutMs instead.
        retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5_000 },
        // Murmur2 on the key, as the Java client: the same key lands on the same partition whoever writes it.
        createPartitioner: Partitioners.DefaultPartitioner,
        transactionalId: options.transactionalId,
        allowAutoTopicCreation: false,
      });
      producer.on(producer.events.DISCONNECT, () => {
        if (producer === this.producer) this.connected = false;
      });
      producer.on(producer.events.CONNECT, () => {
        if (producer === this.producer) this.connected = true;
      });
      return producer;
    };
    this.producer = this.createProducer();
    this.assigner = new PartitionAssigner(kafka);
    this.metrics = options.registry ? KafkaMetrics.for(options.registry) : undefined;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(topicsToRegister: string[] = []): Promise<void> {
    await this.producer.connect();
    this.connected = true;
    for (const topic of topicsToRegister) await this.serde.register(topic);
  }

  async disconnect(): Promise<void> {
    await this.assigner.disconnect();
    await this.producer.disconnect();
    this.connected = false;
  }

  /**
   * Avro-encodes and sends; resolves only when every message is acknowledged by all in-sync replicas. Each
   * message's traceparent names its `<topic> publish` span (see PublishSpans).
   */
  async send<T>(topic: string, messages: OutgoingMessage<T>[], options: SendOptions = {}): Promise<RecordMetadata[]> {
    if (messages.length === 0) return [];
    await this.serde.register(topic);
    const spans = new PublishSpans(topic);
    const active = context.active();
    try {
      const encoded: Message[] = messages.map((m) => ({
        key: m.key,
        value: this.serde.encode(topic, m.value),
        headers: injectTraceHeaders({ ...m.headers }, spans.contextFor(m.traceContext ?? active, m.value)),
        timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
      }));
      const result = await this.deliver(topic, encoded, options);
      spans.end();
      return result;
    } catch (error) {
      spans.end(error);
      throw error;
    }
  }

  /**
   * Sends bytes as they are (DLQ envelopes of undecodable input, replays). Still acks=all. The result lists
   * the acknowledged partitions of the request that carried these messages, which may include other
   * callers' messages.
   */
  async sendRaw(topic: string, messages: Message[], options: SendOptions = {}): Promise<RecordMetadata[]> {
    if (messages.length === 0) return [];
    // The bytes keep their own headers (a replayed message keeps its original traceparent).
    return tracer.startActiveSpan(`${topic} publish`, { kind: SpanKind.PRODUCER }, async (span) => {
      try {
        return await this.deliver(topic, messages, options);
      } catch (error) {
        failSpan(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async deliver(topic: string, messages: Message[], options: SendOptions): Promise<RecordMetadata[]> {
    const stopTimer = this.metrics?.produceLatency.startTimer({ topic });
    try {
      // Concurrent callers of one topic share a request (group commit); see SendCoalescer.
      const sending = this.coalescer.submit(topic, messages);
      const result = options.timeoutMs ? await withDeadline(sending, options.timeoutMs, topic) : await sending;
      this.metrics?.produced.inc({ topic }, messages.length);
      return result;
    } catch (error) {
      this.metrics?.produceErrors.inc({ topic });
      throw error;
    } finally {
      stopTimer?.();
    }
  }

  /**
   * One send, then a check that each target partition is in the acknowledgement; messages of a missing
   * partition (kafkajs skipped it after a leader change) are sent again until all are acknowledged.
   */
  private async sendEveryPartition(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    let pending = await this.assigner.assign(topic, messages);
    const acknowledged: RecordMetadata[] = [];
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_RESEND_ROUNDS) {
        throw new RetriableError(
          `Kafka did not acknowledge every partition of ${topic} after ${MAX_RESEND_ROUNDS} sends`,
        );
      }
      if (this.replacing) await this.replacing;
      let result: RecordMetadata[];
      try {
        result = await this.producer.send({ topic, acks: -1, messages: pending });
      } catch (error) {
        this.replaceProducer();
        throw error;
      }
      acknowledged.push(...result);
      const answered = new Set(result.map((r) => r.partition));
      const missing = pending.filter((m) => !answered.has(m.partition));
      if (missing.length > 0) {
        this.metrics?.produceResent.inc({ topic }, missing.length);
        this.assigner.forget(topic);
      }
      pending = missing;
    }
    return acknowledged;
  }

  /**
   * A failed send leaves the idempotent producer's sequence numbers rolled back while the broker may have
   * written the batch (the answer was lost with the connection). Reusing those numbers for new messages
   * makes the broker take them for that batch's duplicate and acknowledge them WITHOUT writing them. As the
   * Java client does, start over with a new producer id (a new kafkajs producer) after any failed send.
   */
  private replaceProducer(): void {
    if (this.replacing || this.options.transactionalId) return;
    const old = this.producer;
    this.producer = this.createProducer();
    this.connected = false;
    this.replacing = this.producer
      .connect()
      .catch(() => undefined)
      .finally(() => {
        this.replacing = undefined;
      });
    old.disconnect().catch(() => undefined);
  }

  /** The underlying kafkajs producer, for transactions (feature-materializer) and admin-level needs. */
  unwrap(): Producer {
    return this.producer;
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, topic: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RetriableError(`Kafka did not acknowledge ${topic} within ${ms} ms`)), ms);
  });
  // The losing send still settles later; swallow its outcome so it is not an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
