import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initTracing, shutdownTracing } from '../tracing/tracing';
import { createLogger } from './ecs-logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes ECS fields', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 'collector', destination });
    log.info({ event_id: 'e-1' }, 'accepted');
    const line = lines[0] as Record<string, any>;
    expect(line['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(line.log.level).toBe('info');
    expect(line.message).toBe('accepted');
    expect(line.service.name).toBe('collector');
    expect(line.event_id).toBe('e-1');
  });

  it('serializes errors as ECS error fields', () => {
    const { lines, destination } = capture();
    createLogger({ service: 's', destination }).error({ error: new TypeError('bad thing') }, 'failed');
    const line = lines[0] as Record<string, any>;
    expect(line.error).toMatchObject({ type: 'TypeError', message: 'bad thing' });
    expect(line.error.stack_trace).toContain('TypeError: bad thing');
  });

  it('writes `err` (nestjs-pino, pino-http) as ECS error fields too', () => {
    const { lines, destination } = capture();
    createLogger({ service: 's', destination }).warn({ err: new RangeError('out of range') }, 'failed');
    const line = lines[0] as Record<string, any>;
    expect(line.err).toBeUndefined();
    expect(line.error).toMatchObject({ type: 'RangeError', message: 'out of range' });
  });

  it('masks the password of a URL quoted in an error or a message', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 's', destination });
    log.error({ error: new Error('cannot reach postgres://app:pw-Q9z@db:5432/flywheel') }, 'start-up failed');
    log.warn('retrying postgres://app:pw-Q9z@db:5432/flywheel');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('pw-Q9z');
    expect((lines[0] as Record<string, any>).error.message).toBe(
      'cannot reach postgres://app:[redacted]@db:5432/flywheel',
    );
    expect((lines[1] as Record<string, any>).message).toBe('retrying postgres://app:[redacted]@db:5432/flywheel');
  });

  it('redacts credentials wherever they are logged', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 's', destination });
    log.info({ config: { password: 'hunter2' }, req: { headers: { 'x-api-key': 'fw_live_secret' } } }, 'start');
    log.info({ config: { DATABASE_URL: 'postgres://u:pg-secret@h/db', KAFKA_SASL_PASSWORD: 'sasl-secret' } }, 'cfg');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('fw_live_secret');
    expect(text).not.toContain('pg-secret');
    expect(text).not.toContain('sasl-secret');
  });
});

describe('createLogger inside a span', () => {
  beforeAll(() => {
    initTracing({ service: 'ecs-logger-spec' });
  });
  afterAll(() => shutdownTracing());

  it('adds trace.id and span.id of the active span, and none outside it', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 's', destination });
    const ids = trace.getTracer('spec').startActiveSpan('work', (span) => {
      log.info('inside');
      span.end();
      return span.spanContext();
    });
    log.info('outside');
    const [inside, outside] = lines as Record<string, any>[];
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(inside.trace).toEqual({ id: ids.traceId });
    expect(inside.span).toEqual({ id: ids.spanId });
    expect(outside.trace).toBeUndefined();
  });
});
