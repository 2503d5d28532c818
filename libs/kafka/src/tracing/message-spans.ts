import {
  type Context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * Set by libs/observability's initTracing (TRACING_RECORDED there). Read through globalThis rather than an
 * import: importing libs/observability would load NestJS and the OpenTelemetry SDK into every Kafka client,
 * the CLI and the SDK included.
 */
const TRACING_RECORDED = Symbol.for('flywheel.tracing.recorded');
function isTracingRecorded(): boolean {
  return (globalThis as Record<symbol, unknown>)[TRACING_RECORDED] === true;
}

import type { IHeaders } from 'kafkajs';
import { extractTraceContext, headerString } from './trace-headers';

/**
 * Spans of the Kafka hops, one per event so that "one trace per event" holds through micro-batches:
 * `<topic> publish` (PRODUCER) → `<topic> process` (CONSUMER, child of the publish span found in the
 * message's headers) → the next `<topic> publish`, child of that process span, and so on. Attributes follow
 * the OpenTelemetry messaging conventions.
 *
 * Spans exist only while tracing is recorded (an exporter is configured, see isTracingRecorded). Otherwise a
 * hop only carries the context along: a message's context is the one its headers hold and its outputs get
 * the same traceparent, so trace.id still follows the event into every service's logs, for about a tenth
 * of the cost of two spans per event (bench/tracing.bench.ts).
 */
const tracer = trace.getTracer('flywheel-kafka');

export interface MessageSpan {
  span: Span;
  /** The span's context: the parent of whatever is done for this message (its outputs, its dead letter). */
  context: Context;
}

/** A message as it comes off the wire (kafkajs' KafkaMessage has these fields). */
interface WireMessage {
  headers?: IHeaders;
  key?: Buffer | string | null;
  offset: string;
}

/** `<topic> process` for one consumed message, continuing the trace of its headers (or starting one). */
export function startProcessSpan(topic: string, partition: number, group: string, message: WireMessage): MessageSpan {
  const parent = extractTraceContext(message.headers, ROOT_CONTEXT);
  if (!isTracingRecorded()) return { span: trace.getSpan(parent) ?? NO_SPAN, context: parent };
  const span = tracer.startSpan(`${topic} process`, { kind: SpanKind.CONSUMER }, parent);
  if (span.isRecording()) {
    span.setAttributes({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': topic,
      'messaging.destination.partition.id': String(partition),
      'messaging.consumer.group.name': group,
      'messaging.kafka.offset': Number(message.offset),
    });
    const key = message.key?.toString();
    if (key) span.setAttribute('messaging.kafka.message.key', key);
    const eventId = headerString(message.headers, 'event_id');
    if (eventId) span.setAttribute('messaging.message.id', eventId);
  }
  return { span, context: trace.setSpan(parent, span) };
}

/** Names the event a span is about (`messaging.message.id` = event_id), once the value is decoded. */
export function tagEventId(span: Span, value: unknown): void {
  if (!span.isRecording()) return;
  const eventId = eventIdOf(value);
  if (eventId) span.setAttribute('messaging.message.id', eventId);
}

/** Marks a message's span as failed (dead-lettered or its batch thrown). */
export function failSpan(span: Span, error: unknown, failureKind?: string): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  if (failureKind) span.setAttribute('flywheel.dlq.failure_kind', failureKind);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * `<topic> publish` spans of one send: one per parent context. Messages produced for a consumed event carry
 * that event's context and get a span each; messages without one (an HTTP request's batch) share one span,
 * child of the active context. The span's context is what goes into the message's traceparent.
 */
export class PublishSpans {
  private readonly spans = new Map<Context, { span: Span; context: Context; count: number; first: unknown }>();

  constructor(private readonly topic: string) {}

  contextFor(parent: Context, value: unknown): Context {
    if (!isTracingRecorded()) return parent;
    let entry = this.spans.get(parent);
    if (!entry) {
      const span = tracer.startSpan(`${this.topic} publish`, { kind: SpanKind.PRODUCER }, parent);
      if (span.isRecording()) {
        span.setAttributes({
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'publish',
          'messaging.destination.name': this.topic,
        });
      }
      entry = { span, context: trace.setSpan(parent, span), count: 0, first: value };
      this.spans.set(parent, entry);
    }
    entry.count++;
    return entry.context;
  }

  /** Ends every span once the send is acknowledged (or failed with `error`). */
  end(error?: unknown): void {
    for (const { span, count, first } of this.spans.values()) {
      if (count === 1) tagEventId(span, first);
      else if (span.isRecording()) span.setAttribute('messaging.batch.message_count', count);
      if (error !== undefined) failSpan(span, error);
      span.end();
    }
  }
}

/** Stands for "no span" where a message carries no trace context: ending or tagging it does nothing. */
const NO_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

function eventIdOf(value: unknown): string | undefined {
  const id = (value as { event_id?: unknown } | null | undefined)?.event_id;
  return typeof id === 'string' ? id : undefined;
}
