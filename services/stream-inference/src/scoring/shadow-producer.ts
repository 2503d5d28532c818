import { AvroSerde, FlywheelProducer, KAFKA_CLIENT } from '@flywheel/kafka';
import { METRICS_REGISTRY } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';

/**
 * The producer of predictions.shadow.v1, separate from the champion's, so shadow sends stay best effort: a
 * failing shadow send (its topic deleted, say) retries metadata for the missing topic for PRODUCE_TIMEOUT_MS and
 * then makes libs/kafka replace its kafkajs producer (see FlywheelProducer) — on a shared producer, under the
 * champion's sends. test/inference/shadow.test.ts deletes the topic mid-stream: 600 vectors were scored in 1.1 s
 * with this producer and 3.3 s with the shared one (one run each, loaded machine).
 * Connected on first use, so a deployment without SHADOW_ALIAS never opens it.
 */
@Injectable()
export class ShadowProducer implements OnApplicationShutdown {
  private readonly producer: FlywheelProducer;
  private connected?: Promise<void>;

  constructor(@Inject(KAFKA_CLIENT) kafka: Kafka, serde: AvroSerde, @Inject(METRICS_REGISTRY) registry: Registry) {
    this.producer = new FlywheelProducer(kafka, serde, { registry });
  }

  async send(...args: Parameters<FlywheelProducer['send']>): ReturnType<FlywheelProducer['send']> {
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined; // the next shadow batch tries again
      throw error;
    });
    await this.connected;
    return this.producer.send(...args);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
