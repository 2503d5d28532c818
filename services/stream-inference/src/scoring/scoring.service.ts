import { randomUUID } from 'node:crypto';
import { type FeatureVector, failureKinds, type Prediction, topics } from '@flywheel/contracts';
import {
  type DecodedMessage,
  FlywheelProducer,
  type RejectedMessage,
  RetriableError,
  TopicNames,
} from '@flywheel/kafka';
import { decide, FeatureVectorError, invalidFeatures } from '@flywheel/ml';
import { METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { StreamInferenceConfig } from '../config';
import { InferenceMetrics } from '../inference.metrics';
import type { ServingModel } from '../models/model-store';
import { ModelsService } from '../models/models.service';
import { INFERENCE_CONFIG } from '../tokens';
import { ShadowProducer } from './shadow-producer';

/** Kafka header naming the micro-batch a prediction was scored in (`<instance>:<sequence>`). */
export const BATCH_HEADER = 'flywheel-batch';
/**
 * Shadow sends in flight per partition scored concurrently; beyond it a shadow batch is skipped (counted),
 * never the champion slowed. Per partition: each concurrent partition has its champion send in flight too.
 */
const SHADOW_IN_FLIGHT_PER_PARTITION = 4;

export interface MicroBatchResult {
  /** Predictions of the usable rows, in input order. */
  predictions: Prediction[];
  /** Index into the input of each prediction. */
  indexes: number[];
  /** Input rows the model could not use, with why. */
  refused: Array<{ index: number; error: Error; kind: string }>;
}

/** Scores micro-batches with the serving model: the stream handler and POST /v1/predict both come here. */
@Injectable()
export class ScoringService {
  private readonly metrics: InferenceMetrics;
  private sequence = 0;
  private shadowInFlight = 0;

  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: StreamInferenceConfig,
    private readonly models: ModelsService,
    private readonly producer: FlywheelProducer,
    private readonly shadowProducer: ShadowProducer,
    private readonly topicNames: TopicNames,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.metrics = InferenceMetrics.for(registry);
  }

  get instance(): string {
    return this.config.INSTANCE_ID ?? `stream-inference-${process.pid}`;
  }

  /**
   * Scores `vectors` with ONE model (read once, scored synchronously: a swap can only happen before or
   * after). Vectors of another feature-set version, or missing a feature, are refused (model-mismatch).
   */
  scoreWith(
    model: ServingModel,
    vectors: readonly FeatureVector[],
    mode: 'stream' | 'shadow' | 'request',
  ): MicroBatchResult {
    const refused: MicroBatchResult['refused'] = [];
    const usable: number[] = [];
    vectors.forEach((vector, index) => {
      if (vector.feature_set_version !== model.featureSetVersion) {
        refused.push({
          index,
          kind: failureKinds.modelMismatch,
          error: new Error(
            `feature_set_version ${vector.feature_set_version} does not match model ${model.name} v${model.version} (feature set ${model.featureSetVersion})`,
          ),
        });
      } else {
        usable.push(index);
      }
    });
    let rows = usable.map((i) => vectors[i].features);
    const started = performance.now();
    let scores: Float32Array;
    try {
      scores = model.scorer.score(rows);
    } catch (error) {
      if (!(error instanceof FeatureVectorError)) throw error;
      // slow path, only for a batch holding a bad row: find every bad row, score the rest
      const good: number[] = [];
      for (const i of usable) {
        const bad = invalidFeatures(vectors[i].features, model.scorer.spec);
        if (bad.length === 0) good.push(i);
        else
          refused.push({
            index: i,
            kind: failureKinds.modelMismatch,
            error: new Error(`vector lacks features model ${model.name} v${model.version} needs: ${bad.join(', ')}`),
          });
      }
      usable.splice(0, usable.length, ...good);
      rows = usable.map((i) => vectors[i].features);
      scores = model.scorer.score(rows);
    }
    const scoredTime = Date.now();
    this.metrics.predictDuration.observe(
      { mode, backend: this.models.backend.name },
      (performance.now() - started) / 1000,
    );
    const predictions: Prediction[] = [];
    const indexes: number[] = [];
    usable.forEach((inputIndex, i) => {
      const score = scores[i];
      const vector = vectors[inputIndex];
      if (!Number.isFinite(score)) {
        refused.push({
          index: inputIndex,
          kind: failureKinds.inference,
          error: new Error(`model produced score ${score}`),
        });
        return;
      }
      predictions.push({
        event_id: vector.event_id,
        entity: vector.entity,
        event_time: vector.event_time,
        scored_time: scoredTime,
        score,
        decision: decide(score, { threshold: model.threshold, review_threshold: model.reviewThreshold }),
        threshold: model.threshold,
        review_threshold: model.reviewThreshold,
        model_name: model.name,
        model_version: model.version,
        feature_set_version: vector.feature_set_version,
        latency_ms: scoredTime - vector.event_time,
        instance: this.instance,
      });
      indexes.push(inputIndex);
    });
    if (predictions.length > 0) {
      this.metrics.batchSize.observe({ mode }, predictions.length);
      this.metrics.rowsScored.inc({ model: model.name, mode }, predictions.length);
      const scoreHistogram = this.metrics.scores.labels({ model: model.name, mode });
      for (const p of predictions) scoreHistogram.observe(p.score);
    }
    return { predictions, indexes, refused };
  }

  /**
   * One micro-batch from features.vectors.v1 (one partition, offset order): score with the serving
   * model, produce all predictions in ONE send and await the acknowledgement (the runner commits after),
   * refuse mismatched vectors to the DLQ, then shadow-score without holding the batch up.
   */
  async scoreStream(messages: DecodedMessage<FeatureVector>[]): Promise<{ rejected: RejectedMessage[] }> {
    const model = this.models.serving;
    // the consumer starts only after a model is loaded; a model never goes away once there
    if (!model) throw new RetriableError('no model loaded yet');
    const vectors = messages.map((m) => m.value);
    const result = this.scoreWith(model, vectors, 'stream');
    const rejected: RejectedMessage[] = result.refused.map(({ index, error, kind }) => ({
      message: messages[index],
      error,
      kind,
    }));
    if (result.predictions.length > 0) {
      const batchId = `${this.instance}:${++this.sequence}`;
      await this.producer.send(
        this.topicNames.of(topics.predictions),
        // Each prediction continues its feature vector's trace: the last hop of the event's trace.
        result.predictions.map((p, i) => ({
          key: p.entity,
          value: p,
          headers: { [BATCH_HEADER]: batchId },
          traceContext: messages[result.indexes[i]].traceContext,
        })),
        { timeoutMs: this.config.PRODUCE_TIMEOUT_MS },
      );
      const acked = Date.now();
      for (const p of result.predictions) this.metrics.endToEndLatency.observe((acked - p.event_time) / 1000);
    }
    this.shadowScore(vectors);
    return { rejected };
  }

  /** Best effort: errors are logged and counted, never thrown; too many sends in flight → skip. */
  private shadowScore(vectors: readonly FeatureVector[]): void {
    const shadow = this.models.store.shadow;
    if (!shadow) return;
    if (this.shadowInFlight >= SHADOW_IN_FLIGHT_PER_PARTITION * this.config.PARTITIONS_CONCURRENCY) {
      this.metrics.shadowDropped.inc();
      return;
    }
    let predictions: Prediction[];
    try {
      predictions = this.scoreWith(shadow, vectors, 'shadow').predictions;
    } catch (error) {
      this.metrics.shadowFailures.inc();
      this.logger.warn({ error, 'model.version': shadow.version }, 'shadow scoring failed');
      return;
    }
    if (predictions.length === 0) return;
    this.shadowInFlight++;
    const batchId = `${this.instance}:shadow:${randomUUID()}`;
    this.shadowProducer
      .send(
        this.topicNames.of(topics.predictionsShadow),
        predictions.map((p) => ({ key: p.entity, value: p, headers: { [BATCH_HEADER]: batchId } })),
        { timeoutMs: this.config.PRODUCE_TIMEOUT_MS },
      )
      .catch((error: unknown) => {
        this.metrics.shadowFailures.inc();
        this.logger.warn({ error, 'model.version': shadow.version }, 'shadow predictions not produced');
      })
      .finally(() => {
        this.shadowInFlight--;
      });
  }
}
