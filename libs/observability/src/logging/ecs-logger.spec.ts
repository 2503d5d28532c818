import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
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

  it('redacts credentials wherever they are logged', () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: 's', destination });
    log.info({ config: { password: 'hunter2' }, req: { headers: { 'x-api-key': 'fw_live_secret' } } }, 'start');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('fw_live_secret');
  });
});
