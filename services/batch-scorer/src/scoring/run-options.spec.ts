import { describe, expect, it } from 'vitest';
import {
  type BatchScoringOptions,
  entitiesDigest,
  parseShard,
  parseTime,
  UsageError,
  validateOptions,
} from './run-options';

const base: BatchScoringOptions = {
  model: 'payments-fraud',
  alias: 'champion',
  from: 1,
  to: 2,
  runId: 'run-1',
  shard: { index: 0, count: 1 },
  toTopic: false,
};

describe('run options', () => {
  it('parses i/n shards and refuses impossible ones', () => {
    expect(parseShard('1/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard(' 0/1 ')).toEqual({ index: 0, count: 1 });
    for (const bad of ['4/4', '1/0', '1', 'a/b', '-1/2', '1/2/3'])
      expect(() => parseShard(bad), bad).toThrow(UsageError);
  });

  it('reads ISO date-times and epoch millis', () => {
    expect(parseTime('from', '2026-01-10T00:00:00Z')).toBe(Date.UTC(2026, 0, 10));
    expect(parseTime('to', '1767225600000')).toBe(1_767_225_600_000);
    expect(() => parseTime('from', 'yesterday')).toThrow(/--from yesterday/);
  });

  it('wants exactly one of alias/version, a range or entities, and a sane run id', () => {
    expect(validateOptions(base)).toBe(base);
    expect(validateOptions({ ...base, alias: undefined, version: 3 }).version).toBe(3);
    expect(validateOptions({ ...base, from: undefined, to: undefined, entities: ['a'] }).entities).toEqual(['a']);
    const refused: Array<[Partial<BatchScoringOptions>, RegExp]> = [
      [{ version: 2 }, /exactly one of --alias/],
      [{ alias: undefined }, /exactly one of --alias/],
      [{ alias: undefined, version: 0 }, /positive integer/],
      [{ from: undefined, to: undefined }, /refusing to score the whole log/],
      [{ to: undefined, entities: ['a'] }, /--from and --to go together/],
      [{ from: 5, to: 5 }, /--from must be before --to/],
      [{ runId: 'has space' }, /--run-id/],
      [{ runId: '' }, /--run-id/],
      [{ model: '../etc' }, /not a model name/],
      [{ maxRowsPerSecond: 0 }, /max-rows-per-second/],
    ];
    for (const [change, message] of refused) expect(() => validateOptions({ ...base, ...change })).toThrow(message);
  });

  it('identifies an entity list regardless of order and duplicates', () => {
    expect(entitiesDigest(['b', 'a', 'b'])).toEqual(entitiesDigest(['a', 'b']));
    expect(entitiesDigest(['a', 'b'])?.count).toBe(2);
    expect(entitiesDigest(['a'])?.sha256).not.toBe(entitiesDigest(['b'])?.sha256);
    expect(entitiesDigest(undefined)).toBeNull();
  });
});
