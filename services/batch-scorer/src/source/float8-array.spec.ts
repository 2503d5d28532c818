import { describe, expect, it } from 'vitest';
import { decodeFloat8Array, encodeFloat8Array } from './float8-array';

describe('decodeFloat8Array', () => {
  it('reads every double exactly, in order', () => {
    const values = [0, -1.5, 0.1, 1e300, -2.2250738585072014e-308, 12345.678];
    const out = new Float64Array(values.length);
    decodeFloat8Array(encodeFloat8Array(values), out);
    expect(Array.from(out)).toEqual(values);
  });

  it('turns NULL elements into NaN (a missing feature)', () => {
    const out = new Float64Array(3);
    decodeFloat8Array(encodeFloat8Array([1, null, 3]), out);
    expect(out[0]).toBe(1);
    expect(Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBe(3);
  });

  it('refuses another element type, another length or a truncated value', () => {
    expect(() => decodeFloat8Array(encodeFloat8Array([1, 2], 700), new Float64Array(2))).toThrow(/oid 701/);
    expect(() => decodeFloat8Array(encodeFloat8Array([1, 2]), new Float64Array(3))).toThrow(/expected 3 values, got 2/);
    expect(() => decodeFloat8Array(Buffer.alloc(4), new Float64Array(1))).toThrow(/too short/);
  });
});
