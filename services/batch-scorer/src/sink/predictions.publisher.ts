import { type Prediction, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer, kafkaConnectionFromEnv } from '@flywheel/kafka';
import type { LoadedModelVersion } from '@flywheel/ml';
import type { Logger } from 'pino';
import type { BatchScorerConfig } from '../config';
import type { ScoredChunk } from '../scoring/chunk-scorer';

/**
 * `--to-topic`: every scored row also goes to predictions.batch.v1 as a Prediction (the record of
 * predictions.v1), keyed by entity. A chunk is sent and acknowledged BEFORE its results and checkpoint
 * are committed, so a crash re-sends the chunk rather than losing it: at-least-once, consumers dedupe on
 * (event_id, model_name, model_version), as for predictions.v1. Its own topic, not predictions.v1, so a
 * backfill never enters the monitor's live window.
 */
export class PredictionsPublisher {
  private constructor(
    private readonly producer: FlywheelProducer,
    readonly topic: string,
    private readonly timeoutMs: number,
    private readonly instance: string,
  ) {}

  static async connect(config: BatchScorerConfig, logger: Logger, instance: string): Promise<PredictionsPublisher> {
    const kafka = createKafkaClient({ ...kafkaConnectionFromEnv(config, 'batch-scorer'), logger });
    const producer = new FlywheelProducer(kafka, AvroSerde.connect(config.SCHEMA_REGISTRY_URL, schemaFor));
    const topic = withPrefix(config.TOPIC_PREFIX, topics.predictionsBatch);
    await producer.connect([topic]);
    return new PredictionsPublisher(producer, topic, config.PRODUCE_TIMEOUT_MS, instance);
  }

  async publish(chunk: ScoredChunk, model: LoadedModelVersion, featureSetVersion: string): Promise<void> {
    if (chunk.eventIds.length === 0) return;
    const scoredTime = Date.now();
    const messages = chunk.eventIds.map((eventId, i) => {
      const value: Prediction = {
        event_id: eventId,
        entity: chunk.entities[i],
        event_time: chunk.eventTimes[i],
        scored_time: scoredTime,
        score: chunk.scores[i],
        decision: chunk.decisions[i],
        threshold: model.threshold,
        review_threshold: model.reviewThreshold,
        model_name: model.name,
        model_version: model.version,
        feature_set_version: featureSetVersion,
        // The schema's definition (scored_time - event_time); for a backfill it is the age of the event.
        latency_ms: scoredTime - chunk.eventTimes[i],
        instance: this.instance,
      };
      return { key: value.entity, value };
    });
    await this.producer.send(this.topic, messages, { timeoutMs: this.timeoutMs });
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
