import type { SqlQueryable } from '@flywheel/features';
import { initBackend, loadBundle, SYNTHETIC_FEATURES, syntheticFraudData } from '@flywheel/ml';
import pino from 'pino';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RegistryClient } from './registry.client';
import { runIdFor, Trainer, type TrainerSettings } from './trainer';
import { TrainerMetrics } from './trainer.metrics';

const T0 = Date.UTC(2026, 0, 1);

/**
 * What the offline log returns (SQL itself is covered by the integration test): the version's feature names
 * (features.feature_set_versions), then the joined rows with their values as float8[] in that order.
 */
function tableOf(count: number, seed: number): SqlQueryable {
  const rows = syntheticFraudData(count, seed).map((r, i) => ({
    event_id: `e-${i}`,
    entity: `acct-${i % 50}`,
    event_time: String(T0 + i * 1000),
    features: SYNTHETIC_FEATURES.map((name) => r.features[name]),
    is_fraud: r.label === 1,
  }));
  return {
    query: async (sql: string, params?: unknown[]) => {
      if (sql.includes('feature_set_versions')) return { rows: [{ feature_names: [...SYNTHETIC_FEATURES] }] };
      const [, , from, to] = params as [string, string, number, number];
      return { rows: rows.filter((r) => Number(r.event_time) >= from && Number(r.event_time) < to) };
    },
  };
}

/** Keeps uploads in memory; no Production model. */
function memoryRegistry() {
  const uploads = new Map<string, Buffer>();
  const client = {
    production: async () => null,
    download: async () => {
      throw new Error('no production');
    },
    upload: async (sha: string, bytes: Buffer) => {
      uploads.set(sha, bytes);
      return `/v1/artifacts/${sha}`;
    },
  } as unknown as RegistryClient;
  return { client, uploads };
}

const settings = (overrides: Partial<TrainerSettings> = {}): TrainerSettings => ({
  featureSetVersion: 'fs-test',
  featureNames: SYNTHETIC_FEATURES,
  featuresSchema: 'features',
  holdoutFraction: 0.2,
  minTrainingRows: 200,
  minClassRows: 5,
  seed: 42,
  epochs: 4,
  batchSize: 64,
  learningRate: 0.01,
  threshold: 0.5,
  histogramBins: 10,
  ...overrides,
});

function trainer(db: SqlQueryable, registry: RegistryClient, s: TrainerSettings, metrics = new Registry()) {
  return new Trainer({
    db,
    registry,
    metrics: TrainerMetrics.for(metrics),
    logger: pino({ level: 'silent' }),
    settings: s,
    now: () => T0 + 10_000_000,
  });
}

describe('Trainer', () => {
  beforeAll(async () => {
    await initBackend('auto');
  });

  it('is deterministic: same data + seed → same bundle sha256; another seed → another', async () => {
    const db = tableOf(1_500, 11);
    const request = { modelName: 'fraud', from: T0, to: T0 + 1_500_000, requestId: null, runId: 'r' };
    const registry = memoryRegistry();
    const a = await trainer(db, registry.client, settings()).run(request);
    const b = await trainer(db, registry.client, settings()).run({ ...request, runId: 'other-run' });
    const c = await trainer(db, registry.client, settings({ seed: 7 })).run(request);
    if (a.outcome !== 'trained' || b.outcome !== 'trained' || c.outcome !== 'trained') throw new Error('not trained');
    expect(b.event.artifact_sha256).toBe(a.event.artifact_sha256);
    expect(c.event.artifact_sha256).not.toBe(a.event.artifact_sha256);
    // the uploaded bytes are the artifact the event names, and load as a bundle
    const bytes = registry.uploads.get(a.event.artifact_sha256) as Buffer;
    expect(bytes.length).toBe(a.event.artifact_size_bytes);
    const bundle = await loadBundle(bytes, a.event.artifact_sha256);
    expect(bundle.spec.feature_names).toEqual([...SYNTHETIC_FEATURES]);
    expect(bundle.metadata.feature_set_version).toBe('fs-test');
    bundle.model.dispose();
  });

  it('publishes holdout metrics, a time split and a well-formed baseline', async () => {
    const registry = memoryRegistry();
    const metricsRegistry = new Registry();
    const out = await trainer(tableOf(2_000, 3), registry.client, settings(), metricsRegistry).run({
      modelName: 'fraud',
      from: T0,
      to: T0 + 2_000_000,
      requestId: '7b8f2c1e-0a6d-4c55-9d3e-1f2a3b4c5d6e',
      runId: runIdFor('7b8f2c1e-0a6d-4c55-9d3e-1f2a3b4c5d6e'),
    });
    if (out.outcome !== 'trained') throw new Error(`refused: ${out.refusal.message}`);
    const e = out.event;
    expect(e.metrics.train_rows + e.metrics.holdout_rows).toBe(2_000);
    expect(e.metrics.holdout_rows).toBe(400);
    expect(e.metrics.auc).toBeGreaterThan(0.6);
    expect(e.metrics.log_loss).toBeGreaterThan(0);
    expect(e.production_version).toBeNull();
    expect(e.production_metrics).toBeNull();
    expect(e.baseline.features.map((h) => h.name)).toEqual([...SYNTHETIC_FEATURES]);
    for (const h of [...e.baseline.features, e.baseline.score]) {
      expect(h.counts.length).toBe(h.bin_edges.length - 1);
      for (let i = 1; i < h.bin_edges.length; i++) expect(h.bin_edges[i]).toBeGreaterThan(h.bin_edges[i - 1]);
    }
    // feature histograms count the train rows, the score histogram the holdout scores
    expect(e.baseline.features[0].counts.reduce((a, b) => a + b, 0)).toBe(1_600);
    expect(e.baseline.score.counts.reduce((a, b) => a + b, 0)).toBe(400);
    expect(e.run_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const text = await metricsRegistry.metrics();
    expect(text).toContain('flywheel_trainer_runs_total{outcome="trained",reason="none"} 1');
    expect(text).toMatch(/flywheel_trainer_holdout_metric\{role="candidate",metric="auc"\} 0\.\d+/);
  });

  it('refuses too few rows and single-class labels, saying why', async () => {
    const registry = memoryRegistry();
    const few = await trainer(tableOf(2_000, 3), registry.client, settings()).run({
      modelName: 'fraud',
      from: T0,
      to: T0 + 50_000,
      requestId: null,
      runId: 'r',
    });
    expect(few).toMatchObject({ outcome: 'refused', refusal: { reason_code: 'INSUFFICIENT_ROWS', rows: 50 } });
    if (few.outcome === 'refused') expect(few.refusal.message).toMatch(/only 50 labelled rows .* need 200/);

    const genuine: SqlQueryable = {
      query: async (sql: string) => ({
        rows: sql.includes('feature_set_versions')
          ? [{ feature_names: [...SYNTHETIC_FEATURES] }]
          : syntheticFraudData(300, 1).map((r, i) => ({
              event_id: `g${i}`,
              entity: 'a',
              event_time: T0 + i,
              features: SYNTHETIC_FEATURES.map((name) => r.features[name]),
              is_fraud: false,
            })),
      }),
    };
    const one = await trainer(genuine, registry.client, settings()).run({
      modelName: 'fraud',
      from: T0,
      to: T0 + 1_000,
      requestId: null,
      runId: 'r',
    });
    expect(one).toMatchObject({
      outcome: 'refused',
      refusal: { reason_code: 'INSUFFICIENT_POSITIVES', rows: 300, positives: 0 },
    });
    const none = await trainer(tableOf(10, 1), registry.client, settings()).run({
      modelName: 'fraud',
      from: T0 - 10_000,
      to: T0,
      requestId: null,
      runId: 'r',
    });
    expect(none).toMatchObject({ outcome: 'refused', refusal: { reason_code: 'NO_LABELS', rows: 0 } });
    expect(registry.uploads.size).toBe(0);
  });
});
