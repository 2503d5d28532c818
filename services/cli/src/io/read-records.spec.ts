import { describe, expect, it } from 'vitest';
import { parseRecords } from './read-records';

describe('parseRecords', () => {
  it('reads NDJSON (blank lines skipped, positions are line numbers), a JSON array, or one pretty object', () => {
    expect(parseRecords('{"a":1}\n\n{"a":2}\r\n', 'f')).toEqual([
      { position: 1, value: { a: 1 } },
      { position: 3, value: { a: 2 } },
    ]);
    expect(parseRecords(' [{"a":1},{"a":2}] ', 'f').map((r) => r.position)).toEqual([1, 2]);
    expect(parseRecords('{\n  "a": 1\n}\n', 'f')).toEqual([{ position: 1, value: { a: 1 } }]);
  });

  it('names every bad line and refuses the whole input', () => {
    expect(() => parseRecords('{"a":1}\nnot json\n[1]\n{"b":2}', 'in.ndjson')).toThrow(
      /in\.ndjson is not NDJSON \/ a JSON array; nothing was sent:\n {2}line 2: not JSON .*\n {2}line 3: expected a JSON object, got an array/,
    );
    expect(() => parseRecords('[{"a":1}, 2, "x"]', 'f')).toThrow('f: item(s) 2, 3 of the array are not JSON objects');
    expect(() => parseRecords('[{"a":1},', 'f')).toThrow("f starts with '[' but is not a valid JSON array");
    expect(() => parseRecords(' \n ', 'stdin')).toThrow('stdin is empty');
  });
});
