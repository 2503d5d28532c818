import { describe, expect, it } from 'vitest';
import { SendCoalescer } from './send-coalescer';

function deferred() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe('SendCoalescer', () => {
  it('sends alone when idle, and merges callers that arrive while a send is in flight, in order', async () => {
    const sends: number[][] = [];
    const gate = deferred();
    const coalescer = new SendCoalescer<number, number>(async (_key, items) => {
      sends.push(items);
      if (sends.length === 1) await gate.promise;
      return sends.length;
    });
    const first = coalescer.submit('t', [1, 2]);
    const second = coalescer.submit('t', [3]);
    const third = coalescer.submit('t', [4, 5]);
    gate.release();
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    expect(sends).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('keeps topics apart and fails only the callers of the failed send', async () => {
    const coalescer = new SendCoalescer<string, string>(async (key, items) => {
      if (items.includes('bad')) throw new Error(`rejected ${key}`);
      return key;
    });
    const bad = coalescer.submit('a', ['bad']);
    const other = coalescer.submit('b', ['fine']);
    await expect(bad).rejects.toThrow('rejected a');
    expect(await other).toBe('b');
    expect(await coalescer.submit('a', ['ok'])).toBe('a');
  });

  it('never splits a caller and respects the size bound between callers', async () => {
    const sends: number[][] = [];
    const gate = deferred();
    const coalescer = new SendCoalescer<number, void>(async (_key, items) => {
      sends.push(items);
      if (sends.length === 1) await gate.promise;
    }, 3);
    const calls = [
      coalescer.submit('t', [0]),
      coalescer.submit('t', [1, 2]),
      coalescer.submit('t', [3, 4]),
      coalescer.submit('t', [5, 6, 7, 8]),
    ];
    gate.release();
    await Promise.all(calls);
    expect(sends).toEqual([[0], [1, 2], [3, 4], [5, 6, 7, 8]]);
  });
});
