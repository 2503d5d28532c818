import { randomBytes } from 'node:crypto';

/** Short random suffix so tests sharing one broker never see each other's topics or groups. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export function testTopic(base: string): string {
  return `test.${base}.${uniqueSuffix()}`;
}

export function testGroup(base: string): string {
  return `test-${base}-${uniqueSuffix()}`;
}

/** A topic prefix for a whole mesh under test: every catalog topic gets it (TOPIC_PREFIX). */
export function testPrefix(base = 'mesh'): string {
  return `t${uniqueSuffix()}.${base}.`;
}
