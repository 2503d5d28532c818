import { type Context, context, SpanKind, trace } from '@opentelemetry/api';
import { type IHeaders, type Kafka, type Message, Partitioners, type Producer, type RecordMetadata } from 'kafkajs';
import type { Registry } from 'prom-client';
import { RetriableError } from '../errors';
import { KafkaMetrics } from '../metrics/kafka-metrics';
import type { AvroSerde } from '../serde/avro-serde';
import { failSpan, PublishSpans } from '../tracing/message-spans';
import { injectTraceHeaders } from '../tracing/trace-headers';
import { PartitionAssigner } from './partition-assigner';
import { ProducerLane } from './producer-lane';
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

type AssignedMessage = Message & { partition: number };

export interface FlywheelProducerOptions {
  registry?: Registry;
  transactionalId?: string;
  /**
   * Independent idempotent producers, each owning the partitions p with p % lanes === its index (default 1).
   * kafkajs lets an idempotent producer have one request in flight per broker, so one producer serialises
   * concurrent callers; with lanes, requests for different partitions overlap while each partition keeps one
   * producer and so its order. Every lane replaces its own producer after a failed send (ProducerLane).
   * Transactional producers always have one lane.
   */
  lanes?: number;
}

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
  private readonly lanes: ProducerLane[];
  private readonly assigner: PartitionAssigner;
  /** Keyed by lane and topic: concurrent callers of one lane and topic share a request (group commit). */
  private readonly coalescer = new SendCoalescer<Message, RecordMetadata[]>(
    (key, messages) => this.sendEveryPartition(key, messages),
    MAX_MERGED_SEND_BYTES,
    messageBytes,
  );
  private readonly metrics?: KafkaMetrics;
  /** Per topic, the last partition assignment of a multi-lane send: assignments finish in call order. */
  private readonly assigning = new Map<string, Promise<unknown>>();

  constructor(
    kafka: Kafka,
    private readonly serde: AvroSerde,
    options: FlywheelProducerOptions = {},
  ) {
    const createProducer = () =>
      kafka.producer({
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
    const laneCount = options.transactionalId ? 1 : Math.max(1, Math.floor(options.lanes ?? 1));
    this.lanes = Array.from(
      { length: laneCount },
      () => new ProducerLane(createProducer, options.transactionalId === undefined),
    );
    this.assigner = new PartitionAssigner(kafka);
    this.metrics = options.registry ? KafkaMetrics.for(options.registry) : undefined;
  }

  get isConnected(): boolean {
    return this.lanes.every((lane) => lane.isConnected);
  }

  async connect(topicsToRegister: string[] = []): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.connect()));
    for (const topic of topicsToRegister) await this.serde.register(topic);
  }

  async disconnect(): Promise<void> {
    await this.assigner.disconnect();
    await Promise.all(this.lanes.map((lane) => lane.disconnect()));
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
      const sending = this.sendOnLanes(topic, messages);
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
   * Partitions first (so each message's lane is known), then one coalesced send per lane used: concurrent
   * callers of a topic and lane share a request (group commit, see SendCoalescer); lanes proceed in parallel.
   * The caller resolves once every lane acknowledged its part, and fails if any lane failed.
   */
  private async sendOnLanes(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    // One lane: partitions are assigned at flush time, as before lanes existed.
    if (this.lanes.length === 1) return this.coalescer.submit(laneKey(0, topic), messages);
    const assigned = await this.assignInOrder(topic, messages);
    const byLane = new Map<number, AssignedMessage[]>();
    for (const message of assigned) {
      const lane = message.partition % this.lanes.length;
      const list = byLane.get(lane);
      if (list) list.push(message);
      else byLane.set(lane, [message]);
    }
    const results = await Promise.all(
      [...byLane].map(([lane, laneMessages]) => this.coalescer.submit(laneKey(lane, topic), laneMessages)),
    );
    return results.flat();
  }

  /**
   * Assigns partitions, finishing in call order even when one call has to fetch metadata, so callers reach the
   * coalescer (and so Kafka) in the order they called send.
   */
  private assignInOrder(topic: string, messages: Message[]): Promise<AssignedMessage[]> {
    const previous = this.assigning.get(topic) ?? Promise.resolve();
    const assigned = previous.then(() => this.assigner.assign(topic, messages));
    const tail = assigned.catch(() => undefined);
    this.assigning.set(topic, tail);
    void tail.then(() => {
      if (this.assigning.get(topic) === tail) this.assigning.delete(topic);
    });
    return assigned;
  }

  /**
   * One send on the lane, then a check that each target partition is in the acknowledgement; messages of a
   * missing partition (kafkajs skipped it after a leader change) are sent again until all are acknowledged.
   */
  private async sendEveryPartition(key: string, messages: Message[]): Promise<RecordMetadata[]> {
    const separator = key.indexOf('\u0000');
    const lane = this.lanes[Number(key.slice(0, separator))];
    const topic = key.slice(separator + 1);
    // Multi-lane sends arrive assigned (their lane depends on the partition).
    let pending =
      this.lanes.length === 1 ? await this.assigner.assign(topic, messages) : (messages as AssignedMessage[]);
    const acknowledged: RecordMetadata[] = [];
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_RESEND_ROUNDS) {
        throw new RetriableError(
          `Kafka did not acknowledge every partition of ${topic} after ${MAX_RESEND_ROUNDS} sends`,
        );
      }
      // A failed send replaces the lane's producer (new producer id) before the error reaches the callers.
      const result = await lane.send({ topic, acks: -1, messages: pending });
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

  /** The first lane's kafkajs producer (the only one when transactional), for transactions and admin-level needs. */
  unwrap(): Producer {
    return this.lanes[0].unwrap();
  }
}

function laneKey(lane: number, topic: string): string {
  return `${lane}\u0000${topic}`;
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
