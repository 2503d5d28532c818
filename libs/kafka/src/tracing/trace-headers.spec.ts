import { propagation, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTraceContext, headerString, injectTraceHeaders } from './trace-headers';

describe('W3C trace context in Kafka headers', () => {
  beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  afterAll(() => propagation.disable());

  it('injects traceparent and extracts the same trace from Buffer headers, as a consumer receives them', () => {
    const spanContext = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    const headers = injectTraceHeaders({ event_id: 'e-1' }, trace.setSpanContext(ROOT_CONTEXT, spanContext));
    expect(headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(headers.event_id).toBe('e-1');

    // kafkajs hands consumers header values as Buffers.
    const received = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
    const extracted = trace.getSpanContext(extractTraceContext(received));
    expect(extracted?.traceId).toBe(spanContext.traceId);
    expect(extracted?.spanId).toBe(spanContext.spanId);
    expect(headerString(received, 'event_id')).toBe('e-1');
  });

  it('extracts nothing from a message without trace headers', () => {
    expect(trace.getSpanContext(extractTraceContext({}))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
  });
});
