import type { Producer, ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ProducerLane } from './producer-lane';

/** A stand-in for a kafkajs producer: records sends, fails the ones it is told to. */
function fakeProducer(id: number, log: string[], failNext: { value: boolean }) {
  return {
    events: { CONNECT: 'producer.connect', DISCONNECT: 'producer.disconnect' },
    on: () => () => undefined,
    connect: async () => {
      log.push(`connect ${id}`);
    },
    disconnect: async () => {
      log.push(`disconnect ${id}`);
    },
    send: async (record: ProducerRecord) => {
      log.push(`send ${id} ${record.topic}`);
      if (failNext.value) {
        failNext.value = false;
        throw new Error('connection lost');
      }
      return [];
    },
  } as unknown as Producer;
}

const record = (topic: string): ProducerRecord => ({ topic, acks: -1, messages: [{ value: 'x' }] });

describe('ProducerLane', () => {
  it('starts over with a new producer (new producer id) after a failed send, and sends on it next', async () => {
    const log: string[] = [];
    const failNext = { value: false };
    let created = 0;
    const lane = new ProducerLane(() => fakeProducer(++created, log, failNext), true);
    await lane.connect();
    await lane.send(record('a'));
    failNext.value = true;
    await expect(lane.send(record('b'))).rejects.toThrow('connection lost');
    await lane.send(record('c'));
    expect(created).toBe(2);
    expect(log).toEqual(['connect 1', 'send 1 a', 'send 1 b', 'connect 2', 'disconnect 1', 'send 2 c']);
    expect(lane.unwrap()).not.toBeUndefined();
  });

  it('keeps a transactional producer (no replacement)', async () => {
    const log: string[] = [];
    const failNext = { value: true };
    let created = 0;
    const lane = new ProducerLane(() => fakeProducer(++created, log, failNext), false);
    await lane.connect();
    await expect(lane.send(record('a'))).rejects.toThrow('connection lost');
    await lane.send(record('b'));
    expect(created).toBe(1);
    expect(log).toEqual(['connect 1', 'send 1 a', 'send 1 b']);
  });
});
