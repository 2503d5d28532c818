import { describe, expect, it } from 'vitest';
import { decodeFloat8Array, encodeFloat8Array, encodeInt8Array, encodeTextArray } from './binary-array';

function header(hasNull: boolean, oid: number, size: number): Buffer {
  return Buffer.from(new Int32Array([1, hasNull ? 1 : 0, oid, size, 1]).buffer).swap32();
}

/** The array_send layout of a float8[], written out field by field (the reference the encoder is checked against). */
function expected(values: (number | null)[]): Buffer {
  const parts = [header(values.includes(null), 701, values.length)];
  for (const v of values) {
    const element = Buffer.alloc(v === null ? 4 : 12);
    element.writeInt32BE(v === null ? -1 : 8, 0);
    if (v !== null) element.writeDoubleBE(v, 4);
    parts.push(element);
  }
  return Buffer.concat(parts);
}

describe('encodeFloat8Array', () => {
  it('writes the binary float8[] format, every double exact', () => {
    const values = [0, -1.5, 0.1, 1e300, -2.2250738585072014e-308, 12345.678];
    expect(encodeFloat8Array(values).equals(expected(values))).toBe(true);
    expect(encodeFloat8Array(Float64Array.from(values)).equals(expected(values))).toBe(true);
  });

  it('writes NaN and ±Infinity as NULL elements (missing values)', () => {
    const bytes = encodeFloat8Array([1, Number.NaN, Number.POSITIVE_INFINITY, 2]);
    expect(bytes.equals(expected([1, null, null, 2]))).toBe(true);
  });

  it('writes an empty array', () => {
    expect(encodeFloat8Array([]).equals(expected([]))).toBe(true);
  });
});

describe('encodeTextArray', () => {
  it('writes each element as its UTF-8 length and bytes, nothing escaped', () => {
    const values = ['acct-1', '', 'a "quoted", {braced} \\ NULL', 'é€😀'];
    const parts = [header(false, 25, values.length)];
    for (const v of values) {
      const bytes = Buffer.from(v, 'utf8');
      const length = Buffer.alloc(4);
      length.writeInt32BE(bytes.length, 0);
      parts.push(length, bytes);
    }
    expect(encodeTextArray(values).equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('encodeInt8Array', () => {
  it('writes 8-byte big-endian integers', () => {
    const values = [0, 1_767_225_600_000, -5, Number.MAX_SAFE_INTEGER];
    const parts = [header(false, 20, values.length)];
    for (const v of values) {
      const element = Buffer.alloc(12);
      element.writeInt32BE(8, 0);
      element.writeBigInt64BE(BigInt(v), 4);
      parts.push(element);
    }
    expect(encodeInt8Array(values).equals(Buffer.concat(parts))).toBe(true);
  });

  it('refuses a value that is not an integer', () => {
    expect(() => encodeInt8Array([1.5])).toThrow(/not an integer/);
  });
});

describe('decodeFloat8Array', () => {
  it('reads every double exactly, in order', () => {
    const values = [0, -1.5, 0.1, 1e300, -2.2250738585072014e-308, 12345.678];
    const out = new Float64Array(values.length);
    decodeFloat8Array(expected(values), out);
    expect(Array.from(out)).toEqual(values);
  });

  it('turns NULL elements into NaN (a missing feature)', () => {
    const out = new Float64Array(3);
    decodeFloat8Array(expected([1, null, 3]), out);
    expect(out[0]).toBe(1);
    expect(Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBe(3);
  });

  it('reads back what encodeFloat8Array wrote', () => {
    const values = [2.5, Number.NaN, -7];
    const out = new Float64Array(values.length);
    decodeFloat8Array(encodeFloat8Array(values), out);
    expect(Array.from(out)).toEqual(values);
  });

  it('refuses another element type, another length or a truncated value', () => {
    const int4 = expected([1, 2]);
    int4.writeUInt32BE(700, 8);
    expect(() => decodeFloat8Array(int4, new Float64Array(2))).toThrow(/oid 701/);
    expect(() => decodeFloat8Array(expected([1, 2]), new Float64Array(3))).toThrow(/expected 3 values, got 2/);
    expect(() => decodeFloat8Array(Buffer.alloc(4), new Float64Array(1))).toThrow(/too short/);
  });
});
