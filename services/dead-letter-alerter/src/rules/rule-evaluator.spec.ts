import { describe, expect, it } from 'vitest';
import { parseRules } from './alert-rules';
import { fingerprintOf, RuleEvaluator } from './rule-evaluator';
import { SlidingCounter } from './sliding-window';

const labels = { topic: 'events.raw.v1', stage: 'enrichment-api', kind: 'schema-violation' };

describe('SlidingCounter', () => {
  it('sums the buckets of the window and forgets older ones', () => {
    const c = new SlidingCounter(1_000, 5_000);
    c.add(10_000, 2, 10_000);
    c.add(12_500, 3, 12_500);
    expect(c.sum(5_000, 12_900)).toBe(5);
    expect(c.sum(2_000, 12_900)).toBe(3);
    expect(c.sum(5_000, 15_500)).toBe(3); // the bucket of t=10s left the 5 s window
    expect(c.add(1_000, 1, 15_500)).toBe(false); // older than the ring
    expect(c.sum(5_000, 30_000)).toBe(0);
    expect(c.isEmpty(30_000)).toBe(true);
  });
});

describe('RuleEvaluator', () => {
  const make = (rules: unknown[]) => new RuleEvaluator({ rules: parseRules(rules), bucketMs: 1_000, topicPrefix: '' });

  it('fires, deduplicates and resolves', () => {
    const ev = make([{ name: 'SV', expr: 'count(kind=schema-violation) > 2 in 10s', resolveAfter: '3s' }]);
    const t0 = 100_000;
    for (let i = 0; i < 2; i++) ev.recordDeadLetter(labels, t0, t0);
    expect(ev.evaluate(t0)).toEqual([]);
    ev.recordDeadLetter(labels, t0 + 500, t0 + 500);
    const [firing] = ev.evaluate(t0 + 600);
    expect(firing).toMatchObject({
      status: 'FIRING',
      rule: 'SV',
      value: 3,
      ends_at: null,
      labels: { alertname: 'SV', topic: labels.topic, stage: labels.stage, failure_kind: labels.kind },
    });
    expect(firing.fingerprint).toBe(fingerprintOf('SV', firing.labels));
    ev.recordDeadLetter(labels, t0 + 700, t0 + 700);
    expect(ev.evaluate(t0 + 800)).toEqual([]); // still firing: no second FIRING
    expect(ev.firing()).toHaveLength(1);
    expect(ev.evaluate(t0 + 9_000)).toEqual([]); // still in the 10 s window
    expect(ev.evaluate(t0 + 11_000)).toEqual([]); // condition false, resolve period (3 s) not over
    const [resolved] = ev.evaluate(t0 + 12_500);
    expect(resolved).toMatchObject({ status: 'RESOLVED', fingerprint: firing.fingerprint, ends_at: t0 + 12_500 });
    expect(ev.firing()).toHaveLength(0);
  });

  it('ignores dead letters outside the match and old failures', () => {
    const ev = make([{ name: 'SV', expr: 'count(kind=schema-violation) > 0 in 10s' }]);
    ev.recordDeadLetter({ ...labels, kind: 'timeout' }, 100_000, 100_000);
    ev.recordDeadLetter(labels, 10_000, 100_000); // failed long ago (a backlog): outside the window
    expect(ev.evaluate(100_000)).toEqual([]);
  });

  it('evaluates ratio rules against source traffic', () => {
    const ev = make([
      { name: 'R', type: 'ratio', threshold: 0.1, window: '10s', groupBy: ['topic'], minSourceMessages: 10 },
    ]);
    const now = 200_000;
    ev.recordTraffic(labels.topic, 100, now);
    for (let i = 0; i < 5; i++) ev.recordDeadLetter(labels, now, now);
    expect(ev.evaluate(now)).toEqual([]); // 5 / 100 = 0.05
    for (let i = 0; i < 10; i++) ev.recordDeadLetter({ ...labels, kind: 'timeout' }, now, now);
    const [alert] = ev.evaluate(now + 100);
    expect(alert).toMatchObject({ status: 'FIRING', labels: { topic: labels.topic }, value: 0.15 });
    expect(alert.labels.failure_kind).toBeUndefined();
  });

  it('announces a first-seen kind once per topic and kind', () => {
    const ev = make([{ name: 'New', type: 'first-seen', resolveAfter: '1m' }]);
    const [alert] = ev.newKind(labels, 1_000);
    expect(alert).toMatchObject({ status: 'FIRING', labels: { topic: labels.topic, failure_kind: labels.kind } });
    expect(ev.newKind(labels, 2_000)).toEqual([]);
    expect(ev.evaluate(30_000)).toEqual([]);
    expect(ev.evaluate(62_000)[0]).toMatchObject({ status: 'RESOLVED', fingerprint: alert.fingerprint });
  });
});
