import { schemaFor, withPrefix } from '@flywheel/contracts';
import { HealthService } from '@flywheel/observability';
import {
  type DynamicModule,
  Global,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createKafkaClient, type KafkaConnection } from '../kafka-client';
import { FlywheelProducer } from '../producer/flywheel-producer';
import { AvroSerde } from '../serde/avro-serde';
import { KAFKA_CLIENT, KAFKA_OPTIONS } from './kafka.tokens';

export interface KafkaModuleOptions {
  connection: KafkaConnection;
  schemaRegistryUrl: string;
  /** TOPIC_PREFIX: every catalog topic name gets it, so meshes (and tests) can share a cluster. */
  topicPrefix?: string;
  metrics?: Registry;
  logger?: Logger;
  /** Topics this service writes, registered with the schema registry at start-up (fail fast). */
  produces?: string[];
  /** Partition-affine idempotent producers of the shared FlywheelProducer (default 1; see FlywheelProducerOptions). */
  producerLanes?: number;
}

/** Catalog topic name → the name on this cluster (with TOPIC_PREFIX). Inject it instead of prefixing by hand. */
@Injectable()
export class TopicNames {
  constructor(@Inject(KAFKA_OPTIONS) private readonly options: KafkaModuleOptions) {}

  of(topic: string): string {
    return withPrefix(this.options.topicPrefix ?? '', topic);
  }

  get prefix(): string {
    return this.options.topicPrefix ?? '';
  }
}

/** Connects the shared producer at start-up (registering the schemas it writes) and closes it last. */
@Injectable()
class ProducerLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly producer: FlywheelProducer,
    private readonly topics: TopicNames,
    private readonly health: HealthService,
    @Inject(KAFKA_OPTIONS) private readonly options: KafkaModuleOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    this.health.register('kafka-producer', () =>
      this.producer.isConnected ? { ok: true } : { ok: false, detail: 'producer disconnected from Kafka' },
    );
    await this.producer.connect((this.options.produces ?? []).map((t) => this.topics.of(t)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Kafka for a Nest service: one kafkajs client, one Avro serde on the schema registry (contract schemas
 * from libs/contracts), one idempotent producer, and TopicNames. Consumers attach with
 * `connectKafkaConsumer` (kafka-consumer.ts).
 */
@Global()
@Module({})
export class KafkaModule {
  static forRoot(options: KafkaModuleOptions): DynamicModule {
    return {
      module: KafkaModule,
      providers: [
        { provide: KAFKA_OPTIONS, useValue: options },
        {
          provide: KAFKA_CLIENT,
          useFactory: () => createKafkaClient({ ...options.connection, logger: options.logger }),
        },
        { provide: AvroSerde, useFactory: () => AvroSerde.connect(options.schemaRegistryUrl, schemaFor) },
        {
          provide: FlywheelProducer,
          inject: [KAFKA_CLIENT, AvroSerde],
          useFactory: (kafka: Kafka, serde: AvroSerde) =>
            new FlywheelProducer(kafka, serde, { registry: options.metrics, lanes: options.producerLanes }),
        },
        TopicNames,
        ProducerLifecycle,
      ],
      exports: [KAFKA_OPTIONS, KAFKA_CLIENT, AvroSerde, FlywheelProducer, TopicNames],
    };
  }
}
