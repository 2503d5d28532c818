import type { ApiKeyVerifier, Verification } from '@flywheel/api-keys';
import { type DeadLetter, dlqTopicFor, failureKinds, topics } from '@flywheel/contracts';
import type { FlywheelProducer, OutgoingMessage } from '@flywheel/kafka';
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config';
import { type BatchItem, BodyError, decompress, formatOf, parseBatch } from './body-decoder';
import type { CollectorMetrics } from './collector.metrics';
import { type AcceptedEvent, type RejectedEvent, type ValidatedEvent, validateEvent } from './event-validator';
import type { RateLimiter } from './rate-limiter';

export interface IngestRequest {
  credential: string | undefined;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer;
}

export interface IngestResponse {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface EventResult {
  index: number;
  event_id: string | null;
  status: 'accepted' | 'rejected';
  reason?: string;
  field?: string;
}

export interface IngestDeps {
  config: CollectorConfig;
  producer: FlywheelProducer;
  topicName: (catalogTopic: string) => string;
  verifier: ApiKeyVerifier;
  limiter: RateLimiter;
  metrics: CollectorMetrics;
  logger: Logger;
  instance: string;
}

/**
 * POST /v1/events from authentication to Kafka acknowledgement. The HTTP controller only translates
 * headers in and the IngestResponse out.
 */
export class IngestService {
  /** Epoch millis of the last produce Kafka failed to acknowledge, cleared by the next success. */
  private lastProduceFailure = 0;

  constructor(private readonly deps: IngestDeps) {}

  /** Readiness: down for Retry-After seconds after a failed produce, so a load balancer tries another replica. */
  produceHealthy(now = Date.now()): boolean {
    return now - this.lastProduceFailure > this.deps.config.COLLECTOR_RETRY_AFTER_SECONDS * 1000;
  }

  async ingest(request: IngestRequest): Promise<IngestResponse> {
    const response = await this.handle(request);
    this.deps.metrics.requests.inc({ status: String(response.status) });
    return response;
  }

  private async handle(request: IngestRequest): Promise<IngestResponse> {
    const { config, metrics } = this.deps;
    let key: Verification;
    try {
      key = await this.deps.verifier.verify(request.credential);
    } catch (caught) {
      // The key store (Postgres) did not answer: not the producer's fault, and nothing was stored — 503 + Retry-After
      // so it sends again (a 500 reads as a bug, a 401 as a bad key). Cached keys keep working meanwhile.
      this.deps.logger.warn({ err: caught }, 'API key lookup failed; answering 503');
      return {
        status: 503,
        headers: { 'Retry-After': String(config.COLLECTOR_RETRY_AFTER_SECONDS) },
        body: {
          error: 'unavailable',
          message: 'the API key cannot be checked right now; nothing of this request is accepted, retry later',
        },
      };
    }
    if (key.status === 'missing')
      return error(401, 'unauthorized', 'missing API key (Authorization: Bearer <key> or X-API-Key)');
    if (key.status === 'unknown') return error(401, 'unauthorized', 'unknown API key');
    if (key.status === 'revoked') {
      await this.deadLetterBody(request.body, failureKinds.auth, `API key ${key.id} is revoked`, key.id);
      return error(403, 'forbidden', `API key ${key.id} is revoked`);
    }

    let items: BatchItem[];
    try {
      const format = formatOf(request.contentType);
      const body = await decompress(request.body, request.contentEncoding, config.COLLECTOR_MAX_BODY_BYTES);
      items = parseBatch(body, format);
    } catch (caught) {
      if (!(caught instanceof BodyError)) throw caught;
      if (caught.status === 400)
        await this.deadLetterBody(request.body, failureKinds.payloadFormat, caught.message, key.id);
      return error(
        caught.status,
        caught.status === 400 ? 'malformed-body' : caught.status === 413 ? 'too-large' : 'unsupported-media-type',
        caught.message,
      );
    }
    metrics.batchSize.observe(items.length);
    if (items.length > config.COLLECTOR_MAX_EVENTS_PER_BATCH) {
      return error(
        413,
        'too-many-events',
        `batch has ${items.length} events; the limit is ${config.COLLECTOR_MAX_EVENTS_PER_BATCH}: split it`,
      );
    }
    const allowed = this.deps.limiter.take(key.id, items.length);
    if (!allowed.allowed) {
      return {
        status: 429,
        headers: { 'Retry-After': String(allowed.retryAfterSeconds) },
        body: {
          error: 'rate-limited',
          message: `API key ${key.id} is over its rate limit of ${config.COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND} events/s`,
        },
      };
    }

    const ctx = {
      apiKeyId: key.id,
      producer: key.producer,
      instance: this.deps.instance,
      receivedTime: Date.now(),
      maxEventBytes: config.COLLECTOR_MAX_EVENT_BYTES,
    };
    const seen = new Set<string>();
    const validated: ValidatedEvent[] = items.map((item) => validateEvent(item, ctx, seen));
    const accepted = validated.filter((v): v is AcceptedEvent => v.ok);
    const rejected = validated.filter((v): v is RejectedEvent => !v.ok);

    const stop = metrics.produceLatency.startTimer();
    try {
      await this.produce(accepted, rejected, key.id, ctx.receivedTime);
      stop({ outcome: 'acked' });
      this.lastProduceFailure = 0;
    } catch (caught) {
      stop({ outcome: 'failed' });
      this.lastProduceFailure = Date.now();
      this.deps.logger.warn({ err: caught, events: items.length }, 'Kafka did not acknowledge a batch; answering 503');
      return {
        status: 503,
        headers: { 'Retry-After': String(config.COLLECTOR_RETRY_AFTER_SECONDS) },
        body: {
          error: 'unavailable',
          message: 'Kafka did not acknowledge the events; nothing of this request is accepted, retry later',
        },
      };
    }

    // One counter update per type, not per event: a labelled inc hashes its labels each time.
    const acceptedByType = new Map<string, number>();
    for (const a of accepted) acceptedByType.set(a.type, (acceptedByType.get(a.type) ?? 0) + 1);
    for (const [type, count] of acceptedByType) metrics.events.inc({ type, outcome: 'accepted', reason: '' }, count);
    for (const r of rejected) {
      metrics.events.inc({ type: r.type, outcome: 'rejected', reason: r.kind });
      // The same line as every other stage's dead letter (Kibana's "DLQ events"), in the request's trace.
      this.deps.logger.warn(
        {
          topic: this.deps.topicName(r.topic),
          event_id: r.eventId ?? undefined,
          failure_kind: r.kind,
          api_key_id: key.id,
          error: { type: errorClassOf(r.kind), message: `${r.field ? `${r.field}: ` : ''}${r.reason}` },
        },
        'message dead-lettered',
      );
    }
    const results: EventResult[] = validated.map((v) =>
      v.ok
        ? { index: v.index, event_id: v.eventId, status: 'accepted' }
        : {
            index: v.index,
            event_id: v.eventId,
            status: 'rejected',
            reason: `${v.kind}: ${v.reason}`,
            ...(v.field ? { field: v.field } : {}),
          },
    );
    return {
      status: accepted.length === 0 ? 422 : 200,
      body: { accepted: accepted.length, rejected: rejected.length, results },
    };
  }

  /** One send per topic (and per DLQ) of the request, all acks=all, bounded by the produce timeout. */
  private async produce(accepted: AcceptedEvent[], rejected: RejectedEvent[], apiKeyId: string, now: number) {
    const timeoutMs = this.deps.config.COLLECTOR_PRODUCE_TIMEOUT_MS;
    const byTopic = new Map<string, OutgoingMessage<unknown>[]>();
    const add = (topic: string, message: OutgoingMessage<unknown>) => {
      const list = byTopic.get(topic) ?? [];
      list.push(message);
      byTopic.set(topic, list);
    };
    for (const a of accepted) {
      add(a.topic, { key: a.key, value: a.value, headers: { event_id: a.eventId, api_key_id: apiKeyId } });
    }
    for (const r of rejected) {
      add(dlqTopicFor(r.topic), {
        key: r.key,
        value: this.envelope(
          r.topic,
          r.key,
          r.bytes,
          r.kind,
          errorClassOf(r.kind),
          `${r.field ? `${r.field}: ` : ''}${r.reason}`,
          apiKeyId,
          r.eventId,
          now,
        ),
      });
    }
    await Promise.all(
      [...byTopic].map(([topic, messages]) =>
        this.deps.producer.send(this.deps.topicName(topic), messages, { timeoutMs }),
      ),
    );
  }

  /**
   * A whole body refused (400 malformed, 403 revoked key) → one dead letter with the body truncated. The
   * client already gets its 4xx, so a DLQ outage is counted and logged rather than turned into a 503.
   */
  private async deadLetterBody(body: Buffer, kind: string, message: string, apiKeyId: string): Promise<void> {
    const topic = topics.eventsRaw;
    const envelope = this.envelope(topic, null, body, kind, errorClassOf(kind), message, apiKeyId, null, Date.now());
    try {
      await this.deps.producer.send(this.deps.topicName(dlqTopicFor(topic)), [{ key: null, value: envelope }], {
        timeoutMs: this.deps.config.COLLECTOR_PRODUCE_TIMEOUT_MS,
      });
      this.deps.logger.warn(
        {
          topic: this.deps.topicName(topic),
          failure_kind: kind,
          api_key_id: apiKeyId,
          error: { type: errorClassOf(kind), message },
        },
        'request body dead-lettered',
      );
    } catch (caught) {
      this.deps.metrics.dlqWriteFailures.inc();
      this.deps.logger.warn({ err: caught }, 'could not dead-letter a refused body');
    }
  }

  private envelope(
    catalogTopic: string,
    key: string | null,
    bytes: Buffer,
    kind: string,
    errorClass: string,
    message: string,
    apiKeyId: string,
    eventId: string | null,
    now: number,
  ): DeadLetter {
    const cap = this.deps.config.COLLECTOR_DLQ_MAX_VALUE_BYTES;
    const truncated = bytes.length > cap;
    return {
      original_topic: this.deps.topicName(catalogTopic),
      original_partition: null,
      original_offset: null,
      original_timestamp: null,
      original_key: key === null ? null : Buffer.from(key),
      original_value: truncated ? bytes.subarray(0, cap) : bytes,
      original_headers: [{ key: 'api_key_id', value: Buffer.from(apiKeyId) }],
      failure_kind: kind,
      error_class: errorClass,
      error_message: (truncated ? `${message} (original_value truncated from ${bytes.length} bytes)` : message).slice(
        0,
        4_000,
      ),
      stage: 'collector',
      attempts: 1,
      first_failure_time: now,
      last_failure_time: now,
      event_id: eventId,
    };
  }
}

function errorClassOf(kind: string): string {
  switch (kind) {
    case failureKinds.payloadFormat:
      return 'PayloadFormatError';
    case failureKinds.size:
      return 'EventTooLargeError';
    case failureKinds.auth:
      return 'RevokedApiKeyError';
    default:
      return 'SchemaViolationError';
  }
}

function error(status: number, code: string, message: string): IngestResponse {
  return { status, body: { error: code, message } };
}
