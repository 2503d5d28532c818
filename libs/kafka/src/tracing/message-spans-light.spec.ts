import { Writable } from 'node:stream';
import { createLogger, initTracing, shutdownTracing } from '@flywheel/observability';
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishSpans, startProcessSpan } from './message-spans';
import { injectTraceHeaders } from './trace-headers';

describe('per-event tracing without an exporter: the context is carried, no span is made', () => {
  beforeAll(() => {
    initTracing({ service: 'message-spans-light-spec' });
  });
  afterAll(() => shutdownTracing());

  const upstream = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

  it("gives an event's output the traceparent of its input, and its logs that trace.id", () => {
    const message = { headers: { traceparent: Buffer.from(upstream) }, offset: '5' };
    const processed = startProcessSpan('events.raw.v1', 0, 'g', message);
    expect(processed.span.isRecording()).toBe(false);
    expect(trace.getSpanContext(processed.context)?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const out = new PublishSpans('events.enriched.v1');
    const headers = injectTraceHeaders({}, out.contextFor(processed.context, { event_id: 'e' }));
    out.end();
    processed.span.end();
    expect(headers.traceparent).toBe(upstream);

    const lines: Record<string, any>[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const log = createLogger({ service: 's', destination });
    context.with(processed.context, () => log.warn({ event_id: 'e' }, 'message dead-lettered'));
    expect(lines[0].trace).toEqual({ id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(lines[0].span).toEqual({ id: '00f067aa0ba902b7' });
  });

  it('adds nothing for a message that carries no trace context', () => {
    const processed = startProcessSpan('events.raw.v1', 0, 'g', { headers: {}, offset: '0' });
    const out = new PublishSpans('events.enriched.v1');
    const headers = injectTraceHeaders({}, out.contextFor(processed.context, {}));
    out.end();
    processed.span.end();
    expect(headers.traceparent).toBeUndefined();
  });
});
