import { randomUUID } from 'node:crypto';
import {
  type ModelLifecycle,
  type ModelTrained,
  type RetrainRequested,
  schemaFor,
  type TrainRefused,
  topics,
} from '@flywheel/contracts';
import { AvroSerde } from '@flywheel/kafka';
import { type Consumer, Kafka, logLevel } from 'kafkajs';

/** One line of the loop's story, as it happened. */
export interface LoopEvent {
  at: number;
  text: string;
}

const WATCHED = [
  topics.modelsLifecycle,
  topics.modelsRetrainRequested,
  topics.modelsTrained,
  topics.modelsTrainRefused,
];

/**
 * Follows the control-plane topics (retrain requests, trained candidates, refusals, lifecycle changes) and
 * turns each record into a sentence for the dashboard. Reads from the beginning with a throw-away group and
 * commits nothing, so on a resumed run the earlier story shows too.
 */
export class LoopEventFeed {
  readonly events: LoopEvent[] = [];
  private consumer?: Consumer;

  constructor(
    private readonly brokers: string,
    private readonly registryUrl: string,
    private readonly modelName: string,
    private readonly onEvent: (event: LoopEvent) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    const kafka = new Kafka({ clientId: 'demo-feed', brokers: this.brokers.split(','), logLevel: logLevel.NOTHING });
    const serde = AvroSerde.connect(this.registryUrl, schemaFor);
    this.consumer = kafka.consumer({ groupId: `demo-feed-${randomUUID()}`, maxWaitTimeInMs: 200 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: WATCHED, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        const value = await serde.decode(topic, message.value).catch(() => null);
        const text = value ? this.describe(topic, value) : null;
        if (!text) return;
        const event = { at: Number(message.timestamp), text };
        this.events.push(event);
        this.onEvent(event);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private describe(topic: string, value: unknown): string | null {
    switch (topic) {
      case topics.modelsRetrainRequested: {
        const r = value as RetrainRequested;
        if (r.model_name !== this.modelName) return null;
        const evidence = r.evidence
          .slice(0, 3)
          .map(
            (e) =>
              `${e.feature ?? e.detector} ${e.statistic} ${e.value.toFixed(2)} (threshold ${e.threshold.toFixed(2)})`,
          )
          .join(', ');
        return `monitor: retrain requested for v${r.model_version} (${r.reason}: ${evidence || 'no evidence'})`;
      }
      case topics.modelsTrained: {
        const t = value as ModelTrained;
        if (t.model_name !== this.modelName) return null;
        const auc = t.metrics.auc?.toFixed(3) ?? '?';
        const production = t.production_metrics?.auc;
        const versus = production === undefined ? '' : ` vs v${t.production_version} ${production.toFixed(3)}`;
        const rows = (t.metrics.train_rows ?? 0) + (t.metrics.holdout_rows ?? 0);
        return `trainer: candidate trained on ${rows.toLocaleString('en-US')} rows, holdout AUC ${auc}${versus}`;
      }
      case topics.modelsTrainRefused: {
        const r = value as TrainRefused;
        if (r.model_name !== this.modelName) return null;
        return `trainer: refused (${r.reason_code}): ${r.message}`;
      }
      case topics.modelsLifecycle: {
        const l = value as ModelLifecycle;
        if (l.model_name !== this.modelName) return null;
        if (l.change === 'REGISTERED') return `registry: v${l.version} registered`;
        if (l.change === 'STAGE_CHANGED' && l.to_stage === 'Production') {
          return `registry: v${l.version} promoted to Production by ${l.actor}${l.reason ? ` (${l.reason})` : ''}`;
        }
        // A candidate passes through Staging on its way to Production; only a refusal is news.
        if (l.change === 'STAGE_CHANGED' && l.to_stage === 'Staging' && /refused/i.test(l.reason ?? '')) {
          return `registry: v${l.version} kept in Staging (${l.reason})`;
        }
        return null;
      }
      default:
        return null;
    }
  }
}
