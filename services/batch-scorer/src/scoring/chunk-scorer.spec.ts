import { encodeFloat8Array } from '@flywheel/database';
import { buildFraudModel, decide, fitFeatureSpec, initBackend, type LoadedModelVersion, Scorer } from '@flywheel/ml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OfflineRow } from '../source/offline-log.reader';
import { ChunkScorer } from './chunk-scorer';

const names = ['a', 'b', 'c'];
const record = (i: number) => ({ a: i % 7, b: (i * 13) % 11, c: i / 10 });

describe('ChunkScorer', () => {
  let model: LoadedModelVersion;
  beforeAll(async () => {
    await initBackend('auto');
    const spec = fitFeatureSpec(
      Array.from({ length: 50 }, (_, i) => record(i)),
      names,
    );
    model = {
      name: 'm',
      version: 3,
      sha256: 'x',
      featureSetVersion: 'fs-1',
      threshold: 0.5,
      reviewThreshold: 0.45,
      scorer: new Scorer(buildFraudModel(names.length, 5), spec),
    };
  });
  afterAll(() => model.scorer.dispose());

  const row = (i: number, values: (number | null)[] | null, otherVersion: string | null = null): OfflineRow => [
    `ev-${i}`,
    `acct-${i % 3}`,
    String(1_000 + i),
    otherVersion,
    values === null ? null : encodeFloat8Array(values.map((v) => v ?? Number.NaN)),
  ];

  it('scores exactly what the stream path scores for the same records, over several micro-batches', () => {
    const rows = Array.from({ length: 23 }, (_, i) =>
      row(
        i,
        names.map((n) => record(i)[n as 'a']),
      ),
    );
    const chunk = new ChunkScorer(model, 5).score(rows);
    const expected = model.scorer.score(rows.map((_, i) => record(i)));
    expect(chunk.scores).toEqual(Array.from(expected));
    expect(chunk.decisions).toEqual(chunk.scores.map((s) => decide(s, { threshold: 0.5, review_threshold: 0.45 })));
    expect(chunk.eventIds).toEqual(rows.map((r) => r[0]));
    expect(chunk.eventTimes).toEqual(rows.map((r) => Number(r[2])));
    expect(chunk.entities).toEqual(rows.map((r) => r[1]));
    expect(chunk).toMatchObject({ rows: 23, skipped: {}, last: { eventId: 'ev-22', eventTime: 1_022 } });
  });

  it('skips and counts rows of another feature set and rows missing a feature; the checkpoint is the last row read', () => {
    const rows = [
      row(0, [1, 2, 3]),
      row(1, null, 'fs-0'),
      row(2, [1, null, 3]),
      row(3, [4, 5, 6]),
      row(4, null, 'fs-0'),
      row(5, null, 'fs-9'),
    ];
    const chunk = new ChunkScorer(model, 2).score(rows);
    expect(chunk.eventIds).toEqual(['ev-0', 'ev-3']);
    expect(chunk.scores).toEqual(
      Array.from(
        model.scorer.score([
          { a: 1, b: 2, c: 3 },
          { a: 4, b: 5, c: 6 },
        ]),
      ),
    );
    expect(chunk.skipped).toEqual({ 'feature-set-mismatch': 3, 'missing-feature': 1 });
    expect([...chunk.otherVersions]).toEqual([
      ['fs-0', 2],
      ['fs-9', 1],
    ]);
    expect(chunk.last).toEqual({ eventId: 'ev-5', eventTime: 1_005 });
  });

  it('reuses its buffers across chunks of different sizes without mixing them up', () => {
    const scorer = new ChunkScorer(model, 4);
    const big = scorer.score(Array.from({ length: 10 }, (_, i) => row(i, [i, i, i])));
    const small = scorer.score([row(100, [7, 7, 7])]);
    expect(small.scores).toEqual(Array.from(model.scorer.score([{ a: 7, b: 7, c: 7 }])));
    expect(big.scores[7]).toEqual(model.scorer.score([{ a: 7, b: 7, c: 7 }])[0]);
  });
});
