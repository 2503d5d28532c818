import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst, refuses beyond it, and refills at the rate', () => {
    let now = 0;
    const limiter = new RateLimiter(100, 200, () => now);
    expect(limiter.take('k', 150).allowed).toBe(true);
    expect(limiter.take('k', 100)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now = 500; // +50 tokens → 100
    expect(limiter.take('k', 100).allowed).toBe(true);
    expect(limiter.take('k', 1).allowed).toBe(false);
  });

  it('keeps one bucket per key', () => {
    const limiter = new RateLimiter(10, 10, () => 0);
    expect(limiter.take('a', 10).allowed).toBe(true);
    expect(limiter.take('b', 10).allowed).toBe(true);
    expect(limiter.take('a', 1).allowed).toBe(false);
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(0, 1);
    expect(limiter.take('k', 1_000_000).allowed).toBe(true);
  });

  it('says how long to wait for a deficit', () => {
    let now = 0;
    const limiter = new RateLimiter(10, 100, () => now);
    limiter.take('k', 100);
    const answer = limiter.take('k', 50);
    expect(answer).toEqual({ allowed: false, retryAfterSeconds: 5 });
    now = 5_000;
    expect(limiter.take('k', 50).allowed).toBe(true);
  });
});
