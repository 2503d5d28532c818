import { baseTopic, type CatalogTopicName, schemaFor } from '@flywheel/contracts';
import type { Admin, Kafka } from 'kafkajs';
import pino from 'pino';
import { AvroSerde, createKafkaClient } from '../../../../libs/kafka/src/core';
import type { CliConfig } from '../cli-config';
import { CliError } from '../cli-errors';
import { meshTopic } from '../topic-names';
import { probeBrokers } from './broker-probe';

/** Kafka and the schema registry, as the CLI uses them: one client, one serde (contract schemas), lazily. */
export class KafkaSession {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  private admin?: Admin;

  private constructor(readonly config: CliConfig) {
    // kafkajs logs through pino to stderr: silent unless --verbose, so stdout stays the command's output only.
    const logger = pino({ level: config.verbose ? 'warn' : 'silent' }, pino.destination(2));
    this.kafka = createKafkaClient({
      brokers: config.brokers,
      clientId: 'flywheel-cli',
      sasl: config.sasl,
      ssl: config.ssl,
      logger,
    });
    this.serde = AvroSerde.connect(config.schemaRegistryUrl, schemaFor);
  }

  static async open(config: CliConfig): Promise<KafkaSession> {
    await probeBrokers(config.brokers);
    return new KafkaSession(config);
  }

  async adminClient(): Promise<Admin> {
    if (!this.admin) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  /** A catalog name gets the mesh's TOPIC_PREFIX (see meshTopic). */
  topicName(name: string): string {
    return meshTopic(this.config.topicPrefix, name);
  }

  /** Fails with the list of similar topics when the topic does not exist. */
  async requireTopic(topic: string): Promise<void> {
    const admin = await this.adminClient();
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return;
    const wanted = baseTopic(topic) ?? topic;
    const similar = existing.filter((t) => t.endsWith(wanted)).slice(0, 5);
    throw new CliError(
      `topic ${topic} does not exist${similar.length ? ` (did you mean ${similar.join(', ')}? set --topic-prefix)` : ''}. ` +
        'List topics with `flywheel topics`; create the catalog with `npm run topics:create`.',
    );
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }
}

/** The catalog entry a (possibly prefixed) topic belongs to, if any. */
export function contractOf(topic: string): CatalogTopicName | undefined {
  return baseTopic(topic);
}
