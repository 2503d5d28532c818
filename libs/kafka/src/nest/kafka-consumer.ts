import { HealthService } from '@flywheel/observability';
import type { INestApplication } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { BatchConsumerOptions } from '../consumer/batch-consumer';
import { FlywheelProducer } from '../producer/flywheel-producer';
import { AvroSerde } from '../serde/avro-serde';
import type { KafkaModuleOptions } from './kafka.module';
import { KAFKA_CLIENT, KAFKA_OPTIONS } from './kafka.tokens';
import { KafkaTransport } from './kafka.transport';

export type KafkaConsumerSettings = Pick<
  BatchConsumerOptions,
  | 'groupId'
  | 'stage'
  | 'fromBeginning'
  | 'maxBatchSize'
  | 'retry'
  | 'partitionsConsumedConcurrently'
  | 'maxWaitTimeInMs'
  | 'sessionTimeoutMs'
  | 'consumerConfig'
>;

/**
 * Attaches the service's `@EventPattern(topic)` handlers as one consumer group and starts it. Call from
 * `beforeListen` in main.ts, so the HTTP port opens only once consuming has started; readiness includes
 * the consumer's state. Topic patterns are catalog names; TOPIC_PREFIX is applied here. Handler classes
 * must be decorated with `@KafkaController()` so errors keep their class (retriable or poison).
 */
export async function connectKafkaConsumer(
  app: INestApplication,
  settings: KafkaConsumerSettings,
): Promise<KafkaTransport> {
  const options = app.get<KafkaModuleOptions>(KAFKA_OPTIONS);
  const transport = new KafkaTransport({
    ...settings,
    kafka: app.get<Kafka>(KAFKA_CLIENT),
    serde: app.get(AvroSerde),
    producer: app.get(FlywheelProducer),
    topicPrefix: options.topicPrefix,
    metricsRegistry: options.metrics,
    logger: options.logger,
  });
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  app.get(HealthService).register('kafka-consumer', () => transport.health());
  await app.startAllMicroservices();
  return transport;
}
