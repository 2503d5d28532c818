import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { ArtifactFormatError, ArtifactIntegrityError, loadBundle, serializeBundle, sha256Hex } from './bundle';
import { FeatureVectorError, fitFeatureSpec, toTensor, vectorize } from './features';
import { logLoss, rocAuc } from './metrics';
import { trainFraudModel } from './model';
import { decide, Scorer } from './scorer';
import { SYNTHETIC_FEATURES, syntheticFraudData } from './synthetic';

const names = [...SYNTHETIC_FEATURES];

describe('libs/ml', () => {
  let backend: string;
  beforeAll(async () => {
    backend = (await initBackend('auto')).name;
  });

  it('picks wasm when tfjs-node is not installed', () => {
    expect(['wasm', 'tensorflow']).toContain(backend);
    expect(tf.getBackend()).toBe(backend);
  });

  it('fits a spec and vectorises rows in the spec order, standardised', () => {
    const rows = [
      { a: 1, b: 10 },
      { a: 3, b: 10 },
    ];
    const spec = fitFeatureSpec(rows, ['b', 'a']);
    expect(spec.means).toEqual([10, 2]);
    expect(spec.stds).toEqual([1, 1]); // constant feature b gets std 1, a has std 1
    expect(Array.from(vectorize({ a: 3, b: 12, extra: 5 }, spec))).toEqual([2, 1]);
    const t = toTensor(rows, spec);
    expect(t.shape).toEqual([2, 2]);
    t.dispose();
  });

  it('names missing and non-finite features', () => {
    const spec = { feature_names: ['a', 'b', 'c'], means: [0, 0, 0], stds: [1, 1, 1] };
    try {
      vectorize({ a: Number.NaN, c: 1 } as Record<string, number>, spec);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(FeatureVectorError);
      expect((error as FeatureVectorError).missing).toEqual(['b']);
      expect((error as FeatureVectorError).nonFinite).toEqual(['a']);
      expect((error as Error).message).toMatch(/missing b; not finite a=NaN/);
    }
  });

  it('trains deterministically, learns the signal, and round-trips through a verified bundle', async () => {
    const data = syntheticFraudData(3000, 11);
    const rows = data.map((r) => r.features);
    const labels = data.map((r) => r.label);
    const opts = { featureNames: names, seed: 5, epochs: 4, batchSize: 128 };
    const a = await trainFraudModel({ rows, labels }, opts);
    const b = await trainFraudModel({ rows, labels }, opts);
    const wa = a.model.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wa).toEqual(wb);
    const c = await trainFraudModel({ rows, labels }, { ...opts, seed: 6 });
    expect(c.model.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(wa);

    const holdout = syntheticFraudData(2000, 99);
    const scorer = new Scorer(a.model, a.spec);
    const scores = scorer.score(holdout.map((r) => r.features));
    const auc = rocAuc(
      scores,
      holdout.map((r) => r.label),
    );
    expect(auc).toBeGreaterThan(0.75);
    expect(
      logLoss(
        scores,
        holdout.map((r) => r.label),
      ),
    ).toBeLessThan(0.6);

    const bundle = await serializeBundle(a.model, a.spec, {
      feature_set_version: '3',
      threshold: 0.8,
      review_threshold: 0.5,
    });
    expect(bundle.sha256).toBe(sha256Hex(bundle.bytes));
    const again = await serializeBundle(b.model, b.spec, {
      feature_set_version: '3',
      threshold: 0.8,
      review_threshold: 0.5,
    });
    expect(again.sha256).toBe(bundle.sha256); // same data + seed → byte-identical artifact

    const loaded = await loadBundle(bundle.bytes, bundle.sha256);
    expect(loaded.metadata).toMatchObject({ feature_set_version: '3', threshold: 0.8, review_threshold: 0.5 });
    const reloaded = Scorer.fromBundle(loaded).score(holdout.map((r) => r.features));
    for (let i = 0; i < scores.length; i++) expect(Math.abs(reloaded[i] - scores[i])).toBeLessThanOrEqual(1e-6);

    // no tensor leaks per scored batch
    const before = tf.memory().numTensors;
    scorer.score(holdout.slice(0, 64).map((r) => r.features));
    expect(tf.memory().numTensors).toBe(before);
    for (const m of [a, b, c]) m.model.dispose();
    loaded.model.dispose();
  }, 60_000);

  it('refuses bytes whose sha256 differs before parsing them, and rejects non-bundles', async () => {
    const garbage = Buffer.from('not json at all');
    await expect(loadBundle(garbage, 'ab'.repeat(32))).rejects.toBeInstanceOf(ArtifactIntegrityError);
    await expect(loadBundle(garbage, sha256Hex(garbage))).rejects.toBeInstanceOf(ArtifactFormatError);
    const wrong = Buffer.from(JSON.stringify({ format: 'other' }));
    await expect(loadBundle(wrong, sha256Hex(wrong))).rejects.toThrow(/not a flywheel-model-bundle/);
  });

  it('decides by thresholds', () => {
    expect(decide(0.9, { threshold: 0.8, review_threshold: 0.5 })).toBe('DECLINE');
    expect(decide(0.8, { threshold: 0.8, review_threshold: 0.5 })).toBe('DECLINE');
    expect(decide(0.6, { threshold: 0.8, review_threshold: 0.5 })).toBe('REVIEW');
    expect(decide(0.6, { threshold: 0.8, review_threshold: null })).toBe('APPROVE');
    expect(decide(0.1, { threshold: 0.8 })).toBe('APPROVE');
  });

  it('computes AUC with ties', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75);
    expect(rocAuc([0.5, 0.5], [0, 1])).toBe(0.5);
  });
});
