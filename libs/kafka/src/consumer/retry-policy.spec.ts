import { describe, expect, it } from 'vitest';
import { backoffMs } from './retry-policy';

describe('backoffMs', () => {
  const policy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1_000 };

  it('doubles per attempt within [ceiling/2, ceiling] and caps at the maximum', () => {
    expect(backoffMs(policy, 1, () => 0)).toBe(50);
    expect(backoffMs(policy, 1, () => 1)).toBe(100);
    expect(backoffMs(policy, 3, () => 1)).toBe(400);
    expect(backoffMs(policy, 10, () => 1)).toBe(1_000);
    expect(backoffMs(policy, 10, () => 0)).toBe(500);
  });
});
