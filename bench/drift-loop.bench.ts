/**
 * Drift detection figures (issue 7): detection delay and false alarms, then drift onset → new model serving.
 *
 *   npx tsx bench/drift-loop.bench.ts        (FA_EVENTS=1000000 FA_RUNS=4 DELAY_RUNS=5 E2E=1 RATE=400;
 *                                             FA_EVENTS=0 / DELAY_RUNS=0 / E2E=0 skip a part)
 *
 * 1. In process, through the monitor's own DriftMonitor (the class the service runs: same windows, detectors,
 *    calibration, hysteresis and cooldowns) with the monitor's default configuration (windows of 2,000
 *    samples or 1 h of event time, ERT 10M samples, k = 3, ≥ 500 samples, quality windows of 5,000 labels,
 *    AUC margin 0.05), on test/monitor/drift-traffic.ts (feature vectors, the scores of a known model, labels;
 *    events 100 ms apart in event time; a label is joined right after its prediction):
 *    - false alarms: FA_EVENTS stationary events split over FA_RUNS runs, each against another trained
 *      baseline (its own training and holdout sample), so the figure averages over baselines as well;
 *    - detection delay: events after the switch until the first retrain request, DELAY_RUNS runs per
 *      scenario (20,000 stationary events first): sudden covariate shift (amount_z +0.5 sd at once), gradual
 *      shift (+0.5 sd reached linearly over 20,000 events), concept drift in labels only (features and scores
 *      unchanged, fraud follows another pattern; the AUC of the model falls from 0.78 to ~0.53).
 * 2. End to end, once (E2E=0 skips): the closed loop of test/loop (every service a process, v1 promoted by
 *    hand, stationary phase A), then phase B (account age shifted, fraud moved to young accounts) produced at
 *    ~RATE events/s with event time = now until stream-inference serves v2: wall time and events produced after
 *    the onset at each step (request, trained, promoted, serving).
 */
import { randomUUID } from 'node:crypto';
import { type FeatureVector, type Label, type Prediction, type RetrainRequested } from '@flywheel/contracts';
import { testPrefix, waitUntil } from '@flywheel/testing';
import { DriftMonitor, type DriftMonitorOptions } from '../services/monitor/src/drift/drift-monitor';
import { metricsText } from '../test/inference/inference-harness';
import { MINUTE, SECOND, startLoopMesh, traffic } from '../test/loop/loop-scenario';
import {
  DRIFT_FEATURE_SET_VERSION,
  DRIFT_MODEL,
  type Scenario,
  trafficMessages,
  trafficRows,
  trainedFacts,
} from '../test/monitor/drift-traffic';
import { startBenchEnvironment } from './bench-env';

const FA_EVENTS = Number(process.env.FA_EVENTS ?? 1_000_000);
const FA_RUNS = Number(process.env.FA_RUNS ?? 4);
const DELAY_RUNS = Number(process.env.DELAY_RUNS ?? 5);
const E2E = process.env.E2E !== '0';
const RATE = Number(process.env.RATE ?? 400);
const SWITCH_AT = 20_000;
const MAX_AFTER_SWITCH = 300_000;
const STEP_MS = 100;

/** The monitor service's defaults (services/monitor/src/config.ts), post-promotion cooldown off. */
const DEFAULTS: DriftMonitorOptions = {
  modelName: DRIFT_MODEL,
  windowSize: 2_000,
  windowSpanMs: 3_600_000,
  ertSamples: 10_000_000,
  consecutive: 3,
  minSamples: 500,
  cooldownMs: 3_600_000,
  promotionCooldownMs: 0,
  qualityWindow: 5_000,
  qualityMargin: 0.05,
  qualityMinClassSamples: 30,
  labelHorizonMs: 7 * 86_400_000,
  maxPendingJoins: 500_000,
};

interface Run {
  requests: { at: number; request: RetrainRequested }[];
  windows: Record<string, number>;
  featureWindows: number;
  featureExceedances: number;
  features: number;
  windowAlpha: number;
}

/** Streams `events` events of a scenario through a fresh DriftMonitor in chunks of `chunk`. */
function simulate(
  scenario: Scenario,
  seed: number,
  baselineSeed: number,
  events: number,
  stopAtFirst: boolean,
  chunk = 100,
): Run {
  const facts = trainedFacts(baselineSeed);
  const monitor = new DriftMonitor({ ...DEFAULTS, calibrationSeed: baselineSeed });
  const watched = monitor.watch({
    version: 1,
    featureSetVersion: DRIFT_FEATURE_SET_VERSION,
    baseline: facts.baseline,
    metrics: facts.metrics,
  });
  const next = trafficRows(seed, { scenario, switchAt: SWITCH_AT, rampEvents: 20_000 });
  const run: Run = {
    requests: [],
    windows: {},
    featureWindows: 0,
    featureExceedances: 0,
    // a histogram of one bin (a constant-looking feature) cannot drift; count the detectors that can
    features: watched.features.filter((f) => f.histogram.counts.length > 1).length,
    windowAlpha: watched.features[0].calibrations.full.windowAlpha,
  };
  const t0 = Date.UTC(2026, 0, 1);
  const runId = `${scenario}-${seed}`;
  for (let start = 0; start < events; start += chunk) {
    const vectors: FeatureVector[] = [];
    const predictions: Prediction[] = [];
    const labels: Label[] = [];
    for (let i = start; i < Math.min(events, start + chunk); i++) {
      const m = trafficMessages(next(i), i, t0 + i * STEP_MS, runId);
      vectors.push(m.vector);
      predictions.push(m.prediction);
      labels.push(m.label);
    }
    const evaluations = [
      ...monitor.addVectors(vectors),
      ...monitor.addPredictions(predictions),
      ...monitor.addLabels(labels),
    ];
    for (const e of evaluations) {
      if (e.report.features.length > 0) {
        run.featureWindows++;
        run.featureExceedances += e.report.features.filter((f) => f.drifted).length;
      }
      if (e.retrain) run.requests.push({ at: start + vectors.length, request: e.retrain });
    }
    if (stopAtFirst && run.requests.length > 0) break;
  }
  run.windows = { ...monitor.windowsEvaluated };
  return run;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function falseAlarms(): void {
  const perRun = Math.ceil(FA_EVENTS / FA_RUNS);
  let requests = 0;
  let windows = 0;
  let exceedances = 0;
  let detectorWindows = 0;
  let alpha = 0;
  const byReason: Record<string, number> = {};
  const started = Date.now();
  for (let r = 0; r < FA_RUNS; r++) {
    const run = simulate('stationary', 1000 + r, 100 + r, perRun, false);
    requests += run.requests.length;
    for (const { request } of run.requests) {
      const key = `${request.reason}:${request.evidence.map((e) => e.detector).join('+')}`;
      byReason[key] = (byReason[key] ?? 0) + 1;
    }
    windows += run.windows.features;
    exceedances += run.featureExceedances;
    detectorWindows += run.featureWindows * run.features;
    alpha = run.windowAlpha;
    console.info(
      `  run ${r + 1}/${FA_RUNS}: ${perRun.toLocaleString('en-US')} events, windows ${JSON.stringify(run.windows)}, requests ${run.requests.length}`,
    );
  }
  const total = perRun * FA_RUNS;
  console.info(
    `false alarms: ${requests} retrain requests in ${total.toLocaleString('en-US')} stationary events = ` +
      `${((requests / total) * 1e6).toFixed(2)} per 1M (configured: ${(1e6 / DEFAULTS.ertSamples).toFixed(2)} per 1M); ` +
      `${JSON.stringify(byReason)}; feature windows over their threshold ${exceedances}/${detectorWindows} = ` +
      `${(exceedances / Math.max(1, detectorWindows)).toFixed(4)} (configured per-window alpha ${alpha.toFixed(4)}); ` +
      `${windows} feature windows; ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

function detectionDelays(): void {
  const scenarios: Scenario[] = ['sudden-shift', 'gradual-shift', 'concept-drift'];
  for (const scenario of scenarios) {
    const delays: number[] = [];
    const first: Record<string, number> = {};
    let missed = 0;
    for (let r = 0; r < DELAY_RUNS; r++) {
      const run = simulate(scenario, 2000 + r, 1, SWITCH_AT + MAX_AFTER_SWITCH, true);
      const hit = run.requests[0];
      if (!hit) {
        missed++;
        continue;
      }
      delays.push(hit.at - SWITCH_AT);
      const key = `${hit.request.reason}:${hit.request.evidence.map((e) => e.feature ?? e.detector).join('+')}`;
      first[key] = (first[key] ?? 0) + 1;
    }
    console.info(
      `detection delay, ${scenario}: median ${delays.length ? percentile(delays, 0.5) : '–'} events after the switch ` +
        `(min ${delays.length ? Math.min(...delays) : '–'}, max ${delays.length ? Math.max(...delays) : '–'}, ` +
        `${DELAY_RUNS} runs, ${missed} not detected within ${MAX_AFTER_SWITCH.toLocaleString('en-US')}); ` +
        `first request: ${JSON.stringify(first)}; all: ${JSON.stringify(delays)}`,
    );
  }
}

async function endToEnd(): Promise<void> {
  const bench = await startBenchEnvironment();
  const preStart = Date.now() - 3 * 60 * MINUTE;
  const loop = await startLoopMesh({
    env: {
      kafkaBrokers: bench.brokers.join(','),
      schemaRegistryUrl: bench.registryUrl,
      databaseUrl: bench.databaseServerUrl,
    },
    prefix: testPrefix('driftbench'),
    preStart,
  });
  try {
    await loop.send(traffic('A', 2_000, preStart, 1, 0, SECOND));
    await waitUntil(() => loop.reports.length >= 4, { timeoutMs: 120_000, message: 'phase-A drift reports' });
    if (loop.requests.length > 0) throw new Error('a retrain request during the stationary phase');

    const onset = Date.now();
    let sent = 0;
    const marks: Record<string, { ms: number; events: number }> = {};
    const mark = (name: string, reached: boolean) => {
      if (reached && !marks[name]) marks[name] = { ms: Date.now() - onset, events: sent };
    };
    const serving = async () =>
      /flywheel_inference_model_info\{[^}]*version="2"[^}]*role="serving"[^}]*\} 1/.test(
        await metricsText(loop.inference.url),
      );
    const slice = Math.max(1, Math.round(RATE / 4));
    while (!marks.serving) {
      if (Date.now() - onset > 10 * MINUTE) throw new Error(`v2 not serving after 10 min: ${JSON.stringify(marks)}`);
      if (loop.refused.length > 0) throw new Error(`training refused: ${JSON.stringify(loop.refused[0].value)}`);
      const tick = Date.now();
      await loop.send(traffic('B', slice, Date.now(), 10 + sent, 2_000 + sent, 1));
      sent += slice;
      mark('request', loop.requests.length > 0);
      mark('trained', loop.trained.length > 0);
      mark(
        'promoted',
        loop.lifecycle.some((l) => l.value.production_version === 2),
      );
      if (marks.promoted) mark('serving', await serving());
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 250 - (Date.now() - tick))));
    }
    const request = loop.requests[0].value;
    const lastEnd = Math.max(...request.evidence.map((e) => e.window_end));
    const firing = loop.reports.findIndex((r) => r.value.model_version === 1 && r.value.window.end === lastEnd);
    console.info(
      `drift onset → new model serving (end to end, every service a process, phase B at ~${RATE} events/s): ` +
        Object.entries(marks)
          .map(([name, m]) => `${name} ${(m.ms / 1000).toFixed(1)} s / ${m.events} events`)
          .join(', ') +
        `; the request fired on the window ending ${firing >= 0 ? (firing + 1) * 500 - 2_000 : '?'} events after the switch ` +
        `(evidence ${JSON.stringify(request.evidence.map((e) => [e.feature, e.statistic, +e.value.toFixed(4), +e.threshold.toFixed(4)]))}); ` +
        `v2 holdout auc ${loop.trained[0].value.metrics.auc.toFixed(3)} vs v1 ${loop.trained[0].value.production_metrics?.auc?.toFixed(3)}`,
    );
  } finally {
    await loop.close();
    await bench.stop();
  }
}

async function main(): Promise<void> {
  console.info(`drift bench: ${JSON.stringify({ FA_EVENTS, FA_RUNS, DELAY_RUNS, E2E, RATE })} (run ${randomUUID()})`);
  if (FA_EVENTS > 0) falseAlarms();
  if (DELAY_RUNS > 0) detectionDelays();
  if (E2E) await endToEnd();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
