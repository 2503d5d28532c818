import { describe, expect, it } from 'vitest';
import { loadRules, matches, parseDuration, parseRules } from './alert-rules';

describe('alert rules', () => {
  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
  });

  it('expands the expression shorthand and applies defaults', () => {
    const [rule] = parseRules([{ name: 'SV', expr: 'count(kind=schema-violation, stage=enrichment-api) > 10 in 5m' }]);
    expect(rule).toMatchObject({
      type: 'count',
      match: { kind: 'schema-violation', stage: 'enrichment-api' },
      threshold: 10,
      window: 300_000,
      groupBy: ['topic', 'stage', 'kind'],
      severity: 'warning',
      resolveAfter: 60_000,
    });
  });

  it('always groups ratio rules by topic', () => {
    const [rule] = parseRules([{ name: 'R', type: 'ratio', threshold: 0.01, window: '1m', groupBy: ['kind'] }]);
    expect(rule.type === 'ratio' && rule.groupBy).toEqual(['topic', 'kind']);
  });

  it('names the bad rule', () => {
    expect(() =>
      parseRules([
        { name: 'Ok', type: 'first-seen' },
        { name: 'Broken', type: 'count', window: '5m' },
      ]),
    ).toThrow(/rule 'Broken' is invalid: threshold/);
    expect(() => parseRules([{ type: 'count', threshold: 1, window: 'soon' }])).toThrow(/rule #0 is invalid/);
    expect(() => parseRules([{ name: 'X', expr: 'count(colour=red) > 1 in 5m' }])).toThrow(/rule 'X'.*colour=red/);
    expect(() => parseRules([{ name: 'X', type: 'count', threshold: 1, window: '1m', extra: 1 }])).toThrow(/rule 'X'/);
    expect(() =>
      parseRules([
        { name: 'D', type: 'first-seen' },
        { name: 'D', type: 'first-seen' },
      ]),
    ).toThrow(/duplicate/);
    expect(() => loadRules({ json: '{not json' })).toThrow(/ALERT_RULES is not valid JSON/);
    expect(() => loadRules({ file: '/nonexistent/rules.json' })).toThrow(/cannot read/);
  });

  it('falls back to default rules', () => {
    expect(loadRules({}).map((r) => r.name)).toEqual(['DeadLettersPresent', 'NewFailureKind']);
  });

  it('matches catalog names against prefixed topics', () => {
    const [rule] = parseRules([{ name: 'T', expr: 'count(topic=events.raw.v1) > 0 in 1m' }]);
    const labels = { topic: 't1.events.raw.v1', stage: 's', kind: 'k' };
    expect(matches(rule, labels, 't1.')).toBe(true);
    expect(matches(rule, { ...labels, topic: 't2.events.raw.v1' }, 't1.')).toBe(false);
  });
});
