import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache';

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its capacity', () => {
    const cache = new LruCache<string, number>(2, 0);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')?.value).toBe(1); // a is now the youngest
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.value).toBe(1);
    expect(cache.get('c')?.value).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('expires entries after the TTL and caches undefined-like values as present', () => {
    let now = 1_000;
    const cache = new LruCache<string, number | null>(10, 500, () => now);
    cache.set('gone', null);
    expect(cache.get('gone')).toEqual({ value: null });
    now += 499;
    expect(cache.get('gone')).toEqual({ value: null });
    now += 1;
    expect(cache.get('gone')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('deletes and clears', () => {
    const cache = new LruCache<string, number>(3, 0);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.delete('a')).toBe(true);
    expect(cache.get('a')).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses a non-positive capacity', () => {
    expect(() => new LruCache(0, 0)).toThrow(/positive/);
  });
});
