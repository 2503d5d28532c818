import { dlqTopicFor, ensureTopics, type Label, topics, withPrefix } from '@flywheel/contracts';
import { createLogger, createMetricsRegistry, ObservabilityModule } from '@flywheel/observability';
import { testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../testing/src/test-env';
import type { DecodedMessage } from '../consumer/decoded-message';
import { NonRetriableError } from '../errors';
import { createKafkaClient } from '../kafka-client';
import { FlywheelProducer } from '../producer/flywheel-producer';
import { KafkaModule } from './kafka.module';
import { connectKafkaConsumer } from './kafka-consumer';
import { KafkaController } from './kafka-rpc-exception.filter';

const received: string[] = [];

@KafkaController()
class LabelsHandler {
  @EventPattern(topics.labels)
  onLabel(@Payload() message: DecodedMessage<Label>) {
    if (message.value.reason === 'poison') throw new NonRetriableError('poison label', 'schema-violation');
    received.push(message.value.event_id);
  }
}

describe('KafkaTransport: @EventPattern handlers on a real broker', () => {
  const env = testEnv();
  const prefix = testPrefix('transport');
  const logger = createLogger({ service: 'transport-test', level: 'warn' });
  const metrics = createMetricsRegistry('transport-test');
  let app: INestApplication;

  @Module({
    imports: [
      ObservabilityModule.forRoot({ logger, registry: metrics }),
      KafkaModule.forRoot({
        connection: { brokers: env.kafkaBrokers.split(','), clientId: 'transport-test' },
        schemaRegistryUrl: env.schemaRegistryUrl,
        topicPrefix: prefix,
        metrics,
        logger,
        produces: [topics.labels],
      }),
    ],
    controllers: [LabelsHandler],
  })
  class TestModule {}

  beforeAll(async () => {
    const admin = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'transport-admin' }).admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.labels] });
    await admin.disconnect();
    app = await NestFactory.create(TestModule, { logger: false });
    await connectKafkaConsumer(app, { groupId: testGroup('transport'), stage: 'transport-test', fromBeginning: true });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('routes decoded messages to handlers, dead-letters what they reject, and reports readiness', async () => {
    const producer = app.get(FlywheelProducer);
    const label = (id: string, reason: string | null): Label => ({
      event_id: id,
      account_id: 'acct-1',
      is_fraud: false,
      label_time: Date.now(),
      source: 'test',
      reason,
    });
    await producer.send(withPrefix(prefix, topics.labels), [
      { key: 'acct-1', value: label('a', null) },
      { key: 'acct-1', value: label('b', 'poison') },
      { key: 'acct-1', value: label('c', null) },
    ]);
    await waitUntil(() => received.length === 2, { message: 'two labels handled' });
    expect(received).toEqual(['a', 'c']);

    const metricsText = await metrics.metrics();
    await waitUntil(
      async () =>
        /flywheel_kafka_dead_lettered_messages_total\{[^}]*kind="schema-violation"[^}]*\} 1/.test(
          await metrics.metrics(),
        ),
      {
        message: `dead-letter metric (have: ${metricsText
          .split('\n')
          .filter((l) => l.includes('dead_lettered'))
          .join('; ')})`,
      },
    );
    const dlq = dlqTopicFor(withPrefix(prefix, topics.labels));
    const admin = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'transport-admin' }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(dlq);
    await admin.disconnect();
    expect(offsets.reduce((n: number, p: { high: string }) => n + Number(p.high), 0)).toBe(1);

    const url = await app.getUrl();
    const ready = (await (await fetch(`${url.replace('[::1]', '127.0.0.1')}/health/ready`)).json()) as {
      status: string;
      checks: Record<string, unknown>;
    };
    expect(ready.status).toBe('ready');
    expect(Object.keys(ready.checks)).toEqual(expect.arrayContaining(['kafka-consumer', 'kafka-producer']));
  });
});
