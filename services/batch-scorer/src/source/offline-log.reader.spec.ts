import { describe, expect, it } from 'vitest';
import { type OfflineLogSelection, selectionSql } from './offline-log.reader';

const base: OfflineLogSelection = {
  schema: 'features',
  namespace: 'ns',
  featureSetVersion: 'v1',
  featureNames: ['a', 'b', 'c'],
  storedFeatureNames: ['a', 'b', 'c'],
  shard: { index: 0, count: 1 },
};

describe('selectionSql', () => {
  it('ships the stored float8[] as is when the model reads it in stored order', () => {
    const { text } = selectionSql(base, null, 'rows');
    expect(text).toContain('array_send(v.features)');
  });

  it('picks elements by stored position otherwise, NULL for a name the version lacks', () => {
    const { text } = selectionSql({ ...base, featureNames: ['c', 'x', 'a'] }, null, 'rows');
    expect(text).toContain('array_send(ARRAY[v.features[3], NULL, v.features[1]]::float8[])');
  });

  it('reads every value as missing for an unregistered version', () => {
    const { text } = selectionSql({ ...base, storedFeatureNames: null }, null, 'rows');
    expect(text).toContain('array_send(ARRAY[NULL, NULL, NULL]::float8[])');
  });
});
