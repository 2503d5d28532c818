import { describe, expect, it } from 'vitest';
import { applyKafkajsRequestQueueFix, kafkajsRequestQueue } from './kafkajs-request-queue-fix';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A kafkajs RequestQueue as a connection makes one, with no socket behind it. */
function newQueue() {
  const RequestQueue = kafkajsRequestQueue() as unknown as new (
    options: object,
  ) => {
    pending: unknown[];
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    checkPendingRequests(): void;
    destroy(): void;
  };
  return new RequestQueue({
    instrumentationEmitter: { emit: () => undefined },
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'spec',
    broker: 'nowhere:9092',
    logger: { namespace: () => silent },
    isConnected: () => true,
  });
}

describe('kafkajs request queue fix', () => {
  it('is applied to the kafkajs this process loads', () => {
    expect(applyKafkajsRequestQueueFix()).toBe(true);
  });

  it('arms no timer after a check with nothing pending (kafkajs 2.2.4 re-arms a 1 ms one forever)', () => {
    const queue = newQueue();
    try {
      queue.checkPendingRequests();
      expect(queue.throttleCheckTimeoutId).toBeNull();
    } finally {
      queue.destroy();
    }
  });

  it('still rechecks a pending request when the broker throttles the client', () => {
    const queue = newQueue();
    try {
      queue.throttledUntil = Date.now() + 60_000;
      queue.pending.push({ send: () => undefined, expectResponse: true, correlationId: 1 });
      queue.checkPendingRequests();
      // Throttled: not sent, and a check is scheduled for when the throttle ends.
      expect(queue.pending).toHaveLength(1);
      expect(queue.throttleCheckTimeoutId).not.toBeNull();
    } finally {
      queue.destroy();
    }
  });
});
