import { describe, expect, it } from 'vitest';
import { formatOf, parseCsv, parseNdjson } from './bulk-parser';

describe('parseCsv', () => {
  it('maps fields by header, numbers rows by file line, handles quotes and CRLF', () => {
    const text =
      'merchant_id,category,country\r\nm-1,"food, drinks",DE\r\nm-2,"say ""hi""",FR\r\n\r\nm-3,"two\nlines",IT\n';
    expect(parseCsv(text)).toEqual([
      { row: 2, value: { merchant_id: 'm-1', category: 'food, drinks', country: 'DE' } },
      { row: 3, value: { merchant_id: 'm-2', category: 'say "hi"', country: 'FR' } },
      { row: 5, value: { merchant_id: 'm-3', category: 'two\nlines', country: 'IT' } },
    ]);
  });

  it('reports a row with the wrong number of fields and keeps going', () => {
    const rows = parseCsv('a,b\n1,2\n1,2,3\n4,5');
    expect(rows).toEqual([
      { row: 2, value: { a: '1', b: '2' } },
      { row: 3, error: 'has 3 fields, the header has 2' },
      { row: 4, value: { a: '4', b: '5' } },
    ]);
  });

  it('reports an unterminated quote', () => {
    expect(parseCsv('a,b\n1,"oops\n')).toEqual([{ row: 2, error: 'unterminated quoted field' }]);
  });

  it('returns nothing for an empty body', () => {
    expect(parseCsv('')).toEqual([]);
  });
});

describe('parseNdjson', () => {
  it('parses objects per line, skips blank lines, reports bad lines by line number', () => {
    const rows = parseNdjson('{"a":1}\n\nnot json\n[1]\n{"a":2}\n');
    expect(rows[0]).toEqual({ row: 1, value: { a: 1 } });
    expect(rows[1].row).toBe(3);
    expect(rows[1].error).toMatch(/invalid JSON/);
    expect(rows[2]).toEqual({ row: 4, error: 'line is not a JSON object' });
    expect(rows[3]).toEqual({ row: 5, value: { a: 2 } });
  });
});

describe('formatOf', () => {
  it('picks the format by Content-Type', () => {
    expect(formatOf('text/csv; charset=utf-8')).toBe('csv');
    expect(formatOf('application/x-ndjson')).toBe('ndjson');
    expect(formatOf('application/json')).toBeNull();
    expect(formatOf(undefined)).toBeNull();
  });
});
