import { initTracing, shutdownTracing } from '@flywheel/observability';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { IHeaders } from 'kafkajs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PublishSpans, startProcessSpan, tagEventId } from './message-spans';
import { injectTraceHeaders } from './trace-headers';

/** kafkajs hands consumers header values as Buffers. */
const onTheWire = (headers: IHeaders): IHeaders =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));

describe('per-event spans across a Kafka hop', () => {
  const exporter = new InMemorySpanExporter();
  // Exports wait for the resource's async attributes (host detector): flush before reading.
  const processor = new SimpleSpanProcessor(exporter);
  const finishedSpans = async () => {
    await processor.forceFlush();
    return exporter.getFinishedSpans();
  };
  const tracer = trace.getTracer('spec');

  beforeAll(() => {
    initTracing({ service: 'message-spans-spec', spanProcessors: [processor] });
  });
  afterAll(() => shutdownTracing());
  beforeEach(() => exporter.reset());

  /** An upstream service publishing one event of its own trace; returns the message as consumed. */
  function published(topic: string, eventId: string) {
    const root = tracer.startSpan('POST /v1/events', { kind: SpanKind.SERVER });
    const spans = new PublishSpans(topic);
    const headers = injectTraceHeaders({ event_id: eventId }, spans.contextFor(trace.setSpan(ROOT_CONTEXT, root), {}));
    spans.end();
    root.end();
    return { root, message: { headers: onTheWire(headers), key: Buffer.from('acct-1'), offset: '7' } };
  }

  it('keeps each event of a micro-batch in its own trace, every hop parented to the previous one', async () => {
    const a = published('events.raw.v1', 'e-a');
    const b = published('events.raw.v1', 'e-b');
    // The consumer's batch: one process span per message, then one output per input.
    const processed = [a, b].map(({ message }) => startProcessSpan('events.raw.v1', 3, 'enrichment', message));
    for (const [i, p] of processed.entries()) tagEventId(p.span, { event_id: i === 0 ? 'e-a' : 'e-b' });
    const out = new PublishSpans('events.enriched.v1');
    const outHeaders = processed.map((p, i) =>
      injectTraceHeaders({}, out.contextFor(p.context, { event_id: `e-${'ab'[i]}` })),
    );
    out.end();
    for (const p of processed) p.span.end();

    const finished = await finishedSpans();
    const named = (name: string) => finished.filter((s) => s.name === name);
    const rawPublish = named('events.raw.v1 publish');
    const process = named('events.raw.v1 process');
    const enrichedPublish = named('events.enriched.v1 publish');
    expect(rawPublish).toHaveLength(2);
    expect(process).toHaveLength(2);
    expect(enrichedPublish).toHaveLength(2);

    for (const [i, { root }] of [a, b].entries()) {
      const traceId = root.spanContext().traceId;
      const inTrace = finished.filter((s) => s.spanContext().traceId === traceId);
      // HTTP request → raw publish → process → enriched publish, nothing of the other event.
      expect(inTrace.map((s) => s.name).sort()).toEqual(
        ['POST /v1/events', 'events.enriched.v1 publish', 'events.raw.v1 process', 'events.raw.v1 publish'].sort(),
      );
      const span = (name: string) => inTrace.find((s) => s.name === name)!;
      expect(span('events.raw.v1 publish').parentSpanContext?.spanId).toBe(root.spanContext().spanId);
      expect(span('events.raw.v1 process').parentSpanContext?.spanId).toBe(
        span('events.raw.v1 publish').spanContext().spanId,
      );
      expect(span('events.enriched.v1 publish').parentSpanContext?.spanId).toBe(
        span('events.raw.v1 process').spanContext().spanId,
      );
      // The next consumer finds the enriched publish span in the headers.
      expect(outHeaders[i].traceparent).toBe(
        `00-${traceId}-${span('events.enriched.v1 publish').spanContext().spanId}-01`,
      );
      // Messaging attributes on the consumer span.
      expect(span('events.raw.v1 process').kind).toBe(SpanKind.CONSUMER);
      expect(span('events.raw.v1 process').attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': 'events.raw.v1',
        'messaging.consumer.group.name': 'enrichment',
        'messaging.destination.partition.id': '3',
        'messaging.kafka.offset': 7,
        'messaging.message.id': ['e-a', 'e-b'][i],
      });
      expect(span('events.enriched.v1 publish').attributes['messaging.message.id']).toBe(['e-a', 'e-b'][i]);
    }
  });

  it('gives messages without a context of their own one shared span under the active context', async () => {
    const spans = new PublishSpans('events.raw.v1');
    const request = tracer.startSpan('POST /v1/events');
    const ctx = trace.setSpan(ROOT_CONTEXT, request);
    const headers = [1, 2, 3].map((n) => injectTraceHeaders({}, spans.contextFor(ctx, { event_id: `e-${n}` })));
    spans.end();
    request.end();
    const publish = (await finishedSpans()).filter((s) => s.name === 'events.raw.v1 publish');
    expect(publish).toHaveLength(1);
    expect(publish[0].attributes['messaging.batch.message_count']).toBe(3);
    expect(publish[0].attributes['messaging.message.id']).toBeUndefined();
    expect(new Set(headers.map((h) => h.traceparent)).size).toBe(1);
  });

  it('starts a new trace for a message that carries no trace context', async () => {
    const { span } = startProcessSpan('events.raw.v1', 0, 'g', { headers: {}, offset: '0' });
    span.end();
    const [finished] = await finishedSpans();
    expect(finished.parentSpanContext).toBeUndefined();
    expect(finished.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
