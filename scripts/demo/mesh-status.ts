import { type DriftReport, topics } from '@flywheel/contracts';
import type { Mesh, MeshService } from '@flywheel/testing';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { find, parsePrometheusText, type Sample, sum } from './prometheus-text';

/** One row of the pipeline table: a stage's throughput (from its /metrics) and its consumer lag. */
export interface StageStatus {
  stage: string;
  instances: number;
  up: number;
  total: number;
  perSecond: number;
  /** Messages its consumer group has not yet processed (null: not a consumer, or unknown). */
  lag: number | null;
}

export interface ServingStatus {
  instance: string;
  version: string | null;
  swaps: number;
}

export interface MeshStatus {
  at: number;
  stages: StageStatus[];
  labelsIn: number;
  serving: ServingStatus[];
  productionVersion: number | null;
  latestVersion: number | null;
  drift: DriftReport | null;
  retrainRequests: number;
  trainer: { trained: number; refused: number; failed: number };
  promotions: { promoted: number; refused: number };
  deadLetters: number;
}

interface StageSpec {
  stage: string;
  service: MeshService;
  total: (samples: Sample[]) => number;
  lag?: { group: string; topic: string };
}

const STAGES: StageSpec[] = [
  {
    stage: 'collector',
    service: 'collector',
    total: (s) => sum(s, 'flywheel_collector_events_total', { type: 'transaction', outcome: 'accepted' }),
  },
  {
    stage: 'enrichment-api',
    service: 'enrichment-api',
    total: (s) => sum(s, 'flywheel_enrichment_api_events_out_total'),
    lag: { group: 'enrichment-api', topic: topics.eventsRaw },
  },
  {
    stage: 'feature-materializer',
    service: 'feature-materializer',
    total: (s) => sum(s, 'flywheel_features_events_total', { outcome: 'vector' }),
    lag: { group: 'feature-materializer', topic: topics.eventsEnriched },
  },
  {
    stage: 'stream-inference',
    service: 'stream-inference',
    total: (s) => sum(s, 'flywheel_inference_rows_scored_total', { mode: 'stream' }),
    lag: { group: 'stream-inference', topic: topics.featureVectors },
  },
  {
    stage: 'monitor',
    service: 'monitor',
    total: (s) => sum(s, 'flywheel_kafka_consumed_messages_total', { topic: topics.predictions }),
    lag: { group: 'monitor', topic: topics.predictions },
  },
];

/** Rates are measured over this much history, so one slow scrape does not make the numbers jump. */
const RATE_WINDOW_MS = 5_000;
const FETCH_TIMEOUT_MS = 3_000;
/** A scrape that fails (a busy machine, a restarting service) shows the last good one for this long. */
const STALE_OK_MS = 15_000;

/**
 * Reads what the dashboard shows from the services themselves: each instance's /metrics, the monitor's
 * GET /v1/drift, the registry's model, and consumer lag from Kafka (committed offsets vs. end offsets).
 */
export class MeshStatusReader {
  private readonly history = new Map<string, { at: number; total: number }[]>();
  private readonly lastGood = new Map<string, { at: number; samples: Sample[] }>();
  private lastDrift: DriftReport | null = null;
  private lastModel: { production_version: number | null; latest_version: number | null } | null = null;
  private readonly kafka: Kafka;
  private admin?: Promise<Admin>;

  constructor(
    private readonly mesh: Mesh,
    private readonly modelName: string,
  ) {
    // Its own client, silent: kafkajs warnings would scribble over the dashboard.
    this.kafka = new Kafka({ clientId: 'demo-status', brokers: mesh.brokers.split(','), logLevel: logLevel.NOTHING });
  }

  async read(): Promise<MeshStatus> {
    const at = Date.now();
    const services: MeshService[] = [
      'collector',
      'enrichment-api',
      'feature-materializer',
      'stream-inference',
      'monitor',
      'trainer',
      'registry',
      'dead-letter-alerter',
    ];
    const metrics = new Map<MeshService, (Sample[] | null)[]>();
    await Promise.all(
      services.map(async (service) => {
        metrics.set(service, await Promise.all(this.mesh.instances(service).map((p) => this.scrape(p.url, at))));
      }),
    );
    const all = (service: MeshService) => (metrics.get(service) ?? []).flatMap((s) => s ?? []);
    const [lags, freshDrift, freshModel] = await Promise.all([
      this.lags().catch(() => new Map<string, number>()),
      getJson<DriftReport>(`${this.mesh.url('monitor')}/v1/drift`),
      getJson<{ production_version: number | null; latest_version: number | null }>(
        `${this.mesh.url('registry')}/v1/models/${this.modelName}`,
      ),
    ]);

    const drift = freshDrift ?? this.lastDrift;
    const model = freshModel ?? this.lastModel;
    this.lastDrift = drift;
    this.lastModel = model;
    const stages = STAGES.map((spec): StageStatus => {
      const instances = metrics.get(spec.service) ?? [];
      const total = spec.total(all(spec.service));
      return {
        stage: spec.stage,
        instances: instances.length,
        up: instances.filter(Boolean).length,
        total,
        perSecond: this.rate(spec.stage, at, total),
        lag: spec.lag ? (lags.get(`${spec.lag.group}/${spec.lag.topic}`) ?? null) : null,
      };
    });
    const serving = (metrics.get('stream-inference') ?? []).map((samples, i): ServingStatus => {
      const info = samples
        ? find(samples, 'flywheel_inference_model_info', { role: 'serving' }).filter((s) => s.value === 1)
        : [];
      return {
        instance: `#${i + 1}`,
        version: info[0]?.labels.version ?? null,
        swaps: samples ? sum(samples, 'flywheel_inference_model_swaps_total', { role: 'serving' }) : 0,
      };
    });
    const trainer = all('trainer');
    const registry = all('registry');
    return {
      at,
      stages,
      labelsIn: sum(all('collector'), 'flywheel_collector_events_total', { type: 'label', outcome: 'accepted' }),
      serving,
      productionVersion: model?.production_version ?? null,
      latestVersion: model?.latest_version ?? null,
      drift,
      retrainRequests: sum(all('monitor'), 'flywheel_monitor_retrain_requests_total'),
      trainer: {
        trained: sum(trainer, 'flywheel_trainer_runs_total', { outcome: 'trained' }),
        refused: sum(trainer, 'flywheel_trainer_runs_total', { outcome: 'refused' }),
        failed: sum(trainer, 'flywheel_trainer_runs_total', { outcome: 'failed' }),
      },
      promotions: {
        promoted: sum(registry, 'flywheel_registry_models_promotion_decisions_total', { decision: 'promoted' }),
        refused: sum(registry, 'flywheel_registry_models_promotion_decisions_total', { decision: 'refused' }),
      },
      deadLetters: sum(all('dead-letter-alerter'), 'flywheel_dlq_messages_total'),
    };
  }

  async close(): Promise<void> {
    const admin = await this.admin?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  }

  private rate(key: string, at: number, total: number): number {
    const points = this.history.get(key) ?? [];
    points.push({ at, total });
    while (points.length > 2 && at - points[1].at >= RATE_WINDOW_MS) points.shift();
    this.history.set(key, points);
    const first = points[0];
    // A restarted service's counter starts again at 0: no rate until it has history of its own.
    if (at - first.at < 500 || total < first.total) return 0;
    return ((total - first.total) * 1000) / (at - first.at);
  }

  private async scrape(url: string, at: number): Promise<Sample[] | null> {
    const samples = await fetchMetrics(url);
    if (samples) {
      this.lastGood.set(url, { at, samples });
      return samples;
    }
    const last = this.lastGood.get(url);
    return last && at - last.at < STALE_OK_MS ? last.samples : null;
  }

  private async lags(): Promise<Map<string, number>> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    const admin = await this.admin;
    const result = new Map<string, number>();
    await Promise.all(
      STAGES.filter((s) => s.lag).map(async ({ lag }) => {
        const { group, topic } = lag as { group: string; topic: string };
        const [ends, committed] = await Promise.all([
          admin.fetchTopicOffsets(topic),
          admin.fetchOffsets({ groupId: group, topics: [topic] }),
        ]);
        const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
        let total = 0;
        for (const end of ends) {
          const position = done.get(end.partition) ?? -1;
          // end and committed offsets are read at slightly different moments: never below zero
          total += Math.max(0, Number(end.high) - (position >= 0 ? position : Number(end.low)));
        }
        result.set(`${group}/${topic}`, total);
      }),
    );
    return result;
  }
}

async function fetchMetrics(url: string): Promise<Sample[] | null> {
  try {
    const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    return response.ok ? parsePrometheusText(await response.text()) : null;
  } catch {
    return null;
  }
}

async function getJson<T>(url: string): Promise<T | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    return response.ok ? ((await response.json()) as T) : null;
  } catch {
    return null;
  }
}
