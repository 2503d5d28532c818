import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BodyError, decompress, formatOf, itemBytes, parseBatch } from './body-decoder';

const statusOf = async (work: () => unknown) => {
  try {
    await work();
  } catch (error) {
    if (error instanceof BodyError) return error.status;
    throw error;
  }
  return 'ok';
};

describe('body decoding', () => {
  it('maps content types', () => {
    expect(formatOf('application/json; charset=utf-8')).toBe('json');
    expect(formatOf('application/x-ndjson')).toBe('ndjson');
    expect(() => formatOf('text/plain')).toThrow(/unsupported Content-Type/);
    expect(() => formatOf(undefined)).toThrow(BodyError);
  });

  it('parses a JSON array item by item, with each item re-serialized', () => {
    const items = parseBatch(Buffer.from('[{"a":1}, 2 ,"x"]'), 'json');
    expect(items.map((i) => itemBytes(i).toString())).toEqual(['{"a":1}', '2', '"x"']);
    expect(items[0].value).toEqual({ a: 1 });
  });

  it('accepts one object as a batch of one', () => {
    expect(parseBatch(Buffer.from('{"a":1}'), 'json')).toHaveLength(1);
  });

  it('parses NDJSON line by line; a bad line is an item error, not a body error', () => {
    const items = parseBatch(Buffer.from('{"a":1}\r\n\nnot json\n{"b":2}\n'), 'ndjson');
    expect(items).toHaveLength(3);
    expect(items[1].parseError).toMatch(/not valid JSON/);
    expect(itemBytes(items[1]).toString()).toBe('not json');
    expect(items[2]).toMatchObject({ index: 2, value: { b: 2 } });
  });

  it('refuses malformed bodies with 400', async () => {
    expect(await statusOf(() => parseBatch(Buffer.from('[{"a":'), 'json'))).toBe(400);
    expect(await statusOf(() => parseBatch(Buffer.from('42'), 'json'))).toBe(400);
    expect(await statusOf(() => parseBatch(Buffer.from('[]'), 'json'))).toBe(400);
    expect(await statusOf(() => parseBatch(Buffer.alloc(0), 'json'))).toBe(400);
    expect(await statusOf(() => parseBatch(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), 'json'))).toBe(400);
    expect(await statusOf(() => parseBatch(Buffer.from('x\ny\n'), 'ndjson'))).toBe(400);
  });

  it('gunzips within the cap, 413 beyond it (gzip bomb), 400 for broken gzip', async () => {
    const body = Buffer.from('[{"a":1}]');
    expect((await decompress(gzipSync(body), 'gzip', 1_000)).toString()).toBe('[{"a":1}]');
    const bomb = gzipSync(Buffer.alloc(10_000_000, 32));
    expect(bomb.length).toBeLessThan(20_000);
    expect(await statusOf(() => decompress(bomb, 'gzip', 1_000_000))).toBe(413);
    expect(await statusOf(() => decompress(Buffer.from('nope'), 'gzip', 1_000))).toBe(400);
    expect(await statusOf(() => decompress(body, 'br', 1_000))).toBe(415);
    expect(await decompress(body, undefined, 1)).toBe(body);
  });
});
