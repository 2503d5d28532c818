import { EventEmitter } from 'node:events';
import type { Consumer, ConsumerRunConfig } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CrashRestarter } from './crash-restarter';

/** Just enough of a kafkajs consumer: its event names, connect/run/disconnect calls and crash events. */
function fakeConsumer() {
  const emitter = new EventEmitter();
  const calls: string[] = [];
  const consumer = {
    events: { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join' },
    on: (event: string, listener: (e: unknown) => void) => emitter.on(event, listener),
    connect: vi.fn(async () => {
      calls.push('connect');
    }),
    run: vi.fn(async (_config: ConsumerRunConfig) => {
      calls.push('run');
    }),
    disconnect: vi.fn(async () => {
      calls.push('disconnect');
    }),
  };
  const crash = (restart: boolean) =>
    emitter.emit('consumer.crash', {
      payload: { error: new Error('SASL SCRAM SHA512 authentication failed: Closed connection'), restart },
    });
  return { consumer: consumer as unknown as Consumer, calls, crash };
}

describe('CrashRestarter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('starts a consumer again (same run config) after a crash kafkajs does not restart, with a growing backoff', async () => {
    const { consumer, calls, crash } = fakeConsumer();
    const restarter = new CrashRestarter(consumer, () => true, { groupId: 'g' });
    const config = { eachBatch: async () => undefined };
    await restarter.run(config);
    expect(calls).toEqual(['run']);

    crash(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['run']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['run', 'connect', 'run']);
    expect(vi.mocked(consumer.run).mock.calls[1][0]).toBe(config);

    crash(false); // the second attempt waits twice as long
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['run', 'connect', 'run', 'connect', 'run']);
  });

  it('leaves retriable crashes to kafkajs and does nothing once the owner stopped', async () => {
    const { consumer, calls, crash } = fakeConsumer();
    let wanted = true;
    const restarter = new CrashRestarter(consumer, () => wanted, { groupId: 'g' });
    await restarter.run({ eachBatch: async () => undefined });

    crash(true); // kafkajs restarts these itself
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(['run']);

    crash(false);
    wanted = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(['run']);

    wanted = true;
    crash(false);
    restarter.cancel();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual(['run']);
  });

  it('tries again when connecting fails (no crash event follows a failed connect)', async () => {
    const { consumer, calls, crash } = fakeConsumer();
    vi.mocked(consumer.connect).mockRejectedValueOnce(new Error('broker not reachable'));
    const restarter = new CrashRestarter(consumer, () => true, { groupId: 'g' });
    await restarter.run({ eachBatch: async () => undefined });
    crash(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['run', 'disconnect']);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toEqual(['run', 'disconnect', 'connect', 'run']);
  });
});
