import {
  type DeadLetter,
  dlqTopicFor,
  type EnrichedEvent,
  type FeatureVector,
  type Prediction,
  schemaFor,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { AvroSerde } from '@flywheel/kafka';
import type { Kafka } from 'kafkajs';
import { type FaultInfra, faultKafkaClient } from './fault-infra';
import { endpoint, MeshControlClient, type MeshInfo } from './mesh-control';
import type { MeshServiceName, ServiceEndpoint } from './mesh-service';
import { TopicWatcher } from './topic-watcher';

/**
 * A scenario's view of the shared mesh: its addresses, control of its processes, and watchers that read
 * events.enriched.v1, features.vectors.v1, predictions.v1 and every DLQ of the mesh from the beginning.
 */
export class MeshView {
  private constructor(
    readonly infra: FaultInfra,
    readonly info: MeshInfo,
    readonly control: MeshControlClient,
    readonly kafka: Kafka,
    readonly enriched: TopicWatcher<EnrichedEvent>,
    readonly vectors: TopicWatcher<FeatureVector>,
    readonly predictions: TopicWatcher<Prediction>,
    readonly deadLetters: TopicWatcher<DeadLetter>,
  ) {}

  /** Heals whatever an earlier file left broken, then opens the watchers. */
  static async open(infra: FaultInfra, name: string): Promise<MeshView> {
    const control = new MeshControlClient(infra.controlUrl);
    const healed = await control.heal();
    if (healed.brokers.length + healed.services.length > 0) {
      console.warn(`[faults] healed before ${name}: brokers ${healed.brokers}, services ${healed.services}`);
    }
    const info = await control.info();
    const kafka = faultKafkaClient(infra.kafka, `fault-${name}`);
    const serde = AvroSerde.connect(info.registryUrl, schemaFor);
    const topic = (t: string) => withPrefix(info.prefix, t);
    const [enriched, vectors, predictions, deadLetters] = await Promise.all([
      TopicWatcher.start<EnrichedEvent>(kafka, serde, [topic(topics.eventsEnriched)]),
      TopicWatcher.start<FeatureVector>(kafka, serde, [topic(topics.featureVectors)]),
      TopicWatcher.start<Prediction>(kafka, serde, [topic(topics.predictions)]),
      TopicWatcher.start<DeadLetter>(
        kafka,
        serde,
        [topics.eventsRaw, topics.eventsEnriched, topics.labels, topics.featureVectors, topics.predictions].map((t) =>
          topic(dlqTopicFor(t)),
        ),
      ),
    ]);
    return new MeshView(infra, info, control, kafka, enriched, vectors, predictions, deadLetters);
  }

  get prefix(): string {
    return this.info.prefix;
  }

  topic(name: string): string {
    return withPrefix(this.info.prefix, name);
  }

  /** Instances of a service, as endpoints (addresses are stable across restarts). */
  all(name: MeshServiceName): ServiceEndpoint[] {
    return this.info.services.filter((s) => s.name === name).map(endpoint);
  }

  one(name: MeshServiceName, instance = 1): ServiceEndpoint {
    const found = this.info.services.find((s) => s.name === name && s.instance === instance);
    if (!found) throw new Error(`no ${name}#${instance} in the mesh`);
    return endpoint(found);
  }

  get collectors(): ServiceEndpoint[] {
    return this.all('collector');
  }

  /** Every instance, registry first (dependency order). */
  get services(): ServiceEndpoint[] {
    return this.info.services.map(endpoint);
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.enriched, this.vectors, this.predictions, this.deadLetters].map((w) => w.stop().catch(() => undefined)),
    );
  }
}
