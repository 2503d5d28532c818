import { describe, expect, it } from 'vitest';
import { fitFeatureSpec, standardizeInto, vectorize } from './features';

describe('standardizeInto', () => {
  const spec = fitFeatureSpec(
    [
      { x: 1, y: 10, z: -3 },
      { x: 4, y: 30, z: 0.5 },
      { x: 9, y: 20, z: 7.25 },
    ],
    ['z', 'x', 'y'],
  );

  it('gives exactly what vectorize gives for the same row in spec order', () => {
    const row = { x: 2.5, y: 17, z: 0.1 };
    const out = new Float32Array(6);
    expect(standardizeInto([row.z, row.x, row.y], spec, out, 1)).toBe(true);
    expect(Array.from(out.subarray(3))).toEqual(Array.from(vectorize(row, spec)));
    expect(Array.from(out.subarray(0, 3))).toEqual([0, 0, 0]);
  });

  it('reports a missing (NaN) or infinite value instead of writing it, and refuses a wrong length', () => {
    const out = new Float32Array(3);
    expect(standardizeInto([1, Number.NaN, 2], spec, out, 0)).toBe(false);
    expect(standardizeInto([1, 2, Number.POSITIVE_INFINITY], spec, out, 0)).toBe(false);
    expect(() => standardizeInto([1, 2], spec, out, 0)).toThrow(/2 values, the feature spec 3/);
  });
});
