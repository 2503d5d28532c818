import { describe, expect, it } from 'vitest';
import { numberArrayLiteral, textArrayLiteral } from './array-literal';

describe('array literals', () => {
  it('quotes every text element and escapes only quotes and backslashes', () => {
    expect(textArrayLiteral([])).toBe('{}');
    expect(textArrayLiteral(['a', 'NULL', 'b,c', ' {x} '])).toBe('{"a","NULL","b,c"," {x} "}');
    expect(textArrayLiteral(['say "hi"', 'c:\\tmp'])).toBe('{"say \\"hi\\"","c:\\\\tmp"}');
  });

  it('writes numbers as their shortest round-trip decimal and refuses non-finite ones', () => {
    expect(numberArrayLiteral([0.1, 1e-7, 1767225600000, -3])).toBe('{0.1,1e-7,1767225600000,-3}');
    expect(Number('1e-7')).toBe(1e-7);
    expect(() => numberArrayLiteral([1, Number.NaN])).toThrow(/not a finite number/);
  });
});
