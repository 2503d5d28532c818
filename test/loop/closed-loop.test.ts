import type { DriftReport, Prediction } from '@flywheel/contracts';
import { testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { MODEL_NAME, metricsText, type Received } from '../inference/inference-harness';
import {
  LOOP_FEATURES,
  LOOP_FSV,
  LOOP_WINDOW,
  type LoopMesh,
  MINUTE,
  SECOND,
  startLoopMesh,
  traffic,
} from './loop-scenario';

/**
 * The full loop of issue 7, every service a built process on one prefixed mesh (test/loop/loop-scenario.ts):
 * enriched events + labels → feature-materializer → stream-inference (v1) → monitor detects a covariate shift
 * → models.retrain-requested.v1 → trainer → models.trained.v1 → registry (automatic policy) promotes v2 →
 * stream-inference hot-swaps → predictions by v2, live quality recovers; no event lost across the swap.
 */
const WINDOW = LOOP_WINDOW;
const FEATURES = LOOP_FEATURES;
const FSV = LOOP_FSV;
const PRE = 2_000; // stationary phase A (4 monitor windows)
const POST = 2_000; // phase B: account_age_days shifted, fraud pattern moved from amount to age
const AFTER = 1_000; // phase B traffic produced once v2 serves

describe('closed loop: drift → retrain request → trainer → registry promotion → hot swap', () => {
  const env = testEnv();
  const now0 = Date.now();
  const preStart = now0 - 3 * 60 * MINUTE; // phase A ends ~2.4 h before now: outside the trainer window
  let loop: LoopMesh;

  beforeAll(async () => {
    loop = await startLoopMesh({ env, prefix: testPrefix('loop'), preStart });
  }, 300_000);

  afterAll(async () => {
    await loop?.close();
  });

  it('stationary traffic is scored by v1 and raises no retrain request', async () => {
    const { reports, requests } = loop;
    await loop.send(traffic('A', PRE, preStart, 1, 0, SECOND));
    await waitUntil(() => reports.length >= PRE / WINDOW, { timeoutMs: 90_000, message: 'phase-A drift reports' });
    expect(reports.every((r) => r.value.model_version === 1)).toBe(true);
    // "no request" alone could pass by luck of the hysteresis: every window must also be judged not drifted
    for (const r of reports) expect(r.value.features.filter((f) => f.drifted).map((f) => f.feature)).toEqual([]);
    expect(requests).toHaveLength(0);
    const last = reports[reports.length - 1].value;
    expect(last.quality?.auc).toBeGreaterThan(0.75);
  });

  it('a shift → retrain request naming the feature → v2 trained, promoted, served; no event lost', async () => {
    const { reports, requests, refused, trained, lifecycle, predictions, vectors, produced, monitor } = loop;
    const postStart = Date.now() - POST;
    await loop.send(traffic('B', POST, postStart, 2, PRE, 1));
    await waitUntil(() => requests.length >= 1 || refused.length > 0, {
      timeoutMs: 90_000,
      message: 'models.retrain-requested.v1 after the switch',
    }).catch((error) => {
      console.error(
        JSON.stringify({
          vectors: vectors.length,
          predictions: predictions.length,
          postStart,
          reports: reports.map((r) => ({
            v: r.value.model_version,
            w: r.value.window,
            f: r.value.features.map((f) => [f.feature, f.psi, f.drifted]),
            s: r.value.score,
          })),
        }),
      );
      throw error;
    });
    const [request] = requests.map((r) => r.value);
    expect(request).toMatchObject({ model_name: MODEL_NAME, model_version: 1, reason: 'DRIFT' });
    const named = request.evidence.map((e) => e.feature);
    expect(named).toContain('account_age_days');
    expect(named).not.toContain('amount_base');
    // bounded detection delay, in events after the switch: the request fired on the window whose report (same
    // window, emitted right after the request) is the k-th report; phase A filled exactly PRE / WINDOW windows
    const lastEnd = Math.max(...request.evidence.map((e) => e.window_end));
    const firedOn = (r: Received<DriftReport>) => r.value.model_version === 1 && r.value.window.end === lastEnd;
    await waitUntil(() => reports.some(firedOn), { timeoutMs: 30_000, message: 'the report of the firing window' });
    const delayEvents = (reports.findIndex(firedOn) + 1) * WINDOW - PRE;
    expect(delayEvents).toBeGreaterThan(0);
    expect(delayEvents).toBeLessThanOrEqual(3 * WINDOW);
    expect(reports.find(firedOn)?.value.features.find((f) => f.feature === 'account_age_days')?.drifted).toBe(true);

    await waitUntil(() => trained.length >= 1 || refused.length > 0, {
      timeoutMs: 120_000,
      message: 'models.trained.v1',
    });
    expect(refused.map((r) => r.value)).toEqual([]);
    const candidate = trained[0].value;
    expect(candidate).toMatchObject({
      model_name: MODEL_NAME,
      retrain_request_id: request.request_id,
      feature_set_version: FSV,
      feature_names: FEATURES,
      production_version: 1,
    });
    // trained on the post-switch window only; better than v1 on the same (post-switch) holdout
    expect(candidate.training_window_start).toBeGreaterThan(preStart + PRE * SECOND);
    expect(candidate.metrics.train_rows + candidate.metrics.holdout_rows).toBeGreaterThanOrEqual(300);
    expect(candidate.metrics.auc).toBeGreaterThan((candidate.production_metrics?.auc ?? 1) + 0.01);

    await waitUntil(() => lifecycle.some((l) => l.value.production_version === 2), {
      timeoutMs: 60_000,
      message: 'models.lifecycle.v1 with production_version 2',
    });
    const promotion = lifecycle.find((l) => l.value.production_version === 2)?.value;
    expect(promotion?.production?.artifact_sha256).toBe(candidate.artifact_sha256);
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="2"[^}]*role="serving"[^}]*\} 1/.test(
          await metricsText(loop.inference.url),
        ),
      { timeoutMs: 60_000, message: 'stream-inference serving v2' },
    );

    const after = traffic('B', AFTER, Date.now() - AFTER, 3, PRE + POST, 1);
    await loop.send(after);
    const total = PRE + POST + AFTER;
    const ids = new Set(produced);
    expect(ids.size).toBe(total);
    const predicted = () => new Set(predictions.map((p) => p.value.event_id));
    await waitUntil(() => predicted().size >= total, { timeoutMs: 90_000, message: `${total} predictions` });

    // no event lost: every event → a vector → a prediction (after dedupe by event_id), nothing else
    const vectorIds = new Set(vectors.map((v) => v.value.event_id));
    expect(vectorIds).toEqual(ids);
    expect(predicted()).toEqual(ids);
    // the traffic after the swap is scored by v2 only; per partition the version changes once, 1 → 2
    const afterIds = new Set(after.events.map((e) => e.event_id));
    const afterVersions = new Set(
      predictions.filter((p) => afterIds.has(p.value.event_id)).map((p) => p.value.model_version),
    );
    expect([...afterVersions]).toEqual([2]);
    const byPartition = new Map<number, Received<Prediction>[]>();
    for (const p of predictions) byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), p]);
    for (const list of byPartition.values()) {
      const versions = list.sort((a, b) => (a.offset < b.offset ? -1 : 1)).map((p) => p.value.model_version);
      expect(versions.every((v, i) => i === 0 || v >= versions[i - 1])).toBe(true);
    }

    // live quality recovers: the monitor, now watching v2, reports a high AUC again
    await waitUntil(() => reports.some((r) => r.value.model_version === 2 && r.value.quality?.auc != null), {
      timeoutMs: 60_000,
      message: 'a drift report of v2 with live quality',
    });
    const v2 = reports.filter((r) => r.value.model_version === 2 && r.value.quality?.auc != null);
    expect(v2[v2.length - 1].value.quality?.auc).toBeGreaterThan(0.75);
    const drift = (await (await fetch(`${monitor.url}/v1/drift`)).json()) as DriftReport;
    expect(drift.model_version).toBe(2);
    console.info(
      `[loop] detection after ${delayEvents} events; evidence ${JSON.stringify(request.evidence.map((e) => [e.feature, e.statistic, e.value, e.threshold]))}; ` +
        `v2 holdout auc ${candidate.metrics.auc.toFixed(3)} vs v1 ${candidate.production_metrics?.auc.toFixed(3)} ` +
        `(${candidate.metrics.train_rows}+${candidate.metrics.holdout_rows} rows); live auc v2 ${v2[v2.length - 1].value.quality?.auc?.toFixed(3)}; ` +
        `predictions ${predictions.length} for ${total} events`,
    );
  }, 240_000);
});
