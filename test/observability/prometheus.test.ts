import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type LocalMesh,
  MESH_PORTS,
  MESH_SERVICES,
  type MeshService,
  REPO_ROOT,
  startLocalMesh,
  testPrefix,
  waitUntil,
} from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardSpec, toGrafanaJson } from '../../infra/grafana/lib/grafana';
import { allDashboards } from '../../infra/grafana/specs';
import { testEnv } from '../../libs/testing/src/test-env';
import { MODEL_FEATURES, registerProductionModel, requestRetrain, sendLoad } from './mesh-load';
import { type PrometheusServer, prometheusInstalled, startPrometheus } from './prometheus-server';
import { exportedSampleNames, metricNamesIn } from './promql-names';

const PROMETHEUS_DIR = resolve(REPO_ROOT, 'infra/prometheus');
const DASHBOARD_DIR = resolve(REPO_ROOT, 'infra/grafana/dashboards');
const HAVE_PROMETHEUS = prometheusInstalled();
if (!HAVE_PROMETHEUS) {
  console.warn(
    '[observability] SKIPPED the Prometheus tests: `prometheus`/`promtool` not on PATH (apt-get install prometheus; .ci/run does)',
  );
}

/** Series Prometheus makes itself for every target; no service exports them. */
const PROMETHEUS_OWN = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
/** Services with a libs/kafka consumer group: each must export its lag. */
const CONSUMING: MeshService[] = MESH_SERVICES.filter((s) => s !== 'collector');

const committedDashboards = () =>
  readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(resolve(DASHBOARD_DIR, f), 'utf8')) }));

describe.skipIf(!HAVE_PROMETHEUS)('infra/prometheus with promtool', () => {
  it('both configs and the rule files they load are valid', () => {
    for (const config of ['prometheus.yml', 'prometheus.compose.yml']) {
      const out = execFileSync('promtool', ['check', 'config', config], { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
      const ruleFiles = readdirSync(resolve(PROMETHEUS_DIR, 'rules')).length;
      expect(out).toContain(`SUCCESS: ${ruleFiles} rule files found`);
    }
  });

  it('the alert rules pass their unit tests (promtool test rules)', () => {
    const tests = readdirSync(resolve(PROMETHEUS_DIR, 'tests')).map((f) => `tests/${f}`);
    expect(tests.length).toBeGreaterThanOrEqual(3);
    // throws (exit 1, with the failing case in its output) when any case fails
    execFileSync('promtool', ['test', 'rules', ...tests], { cwd: PROMETHEUS_DIR, encoding: 'utf8' });
  });

  it('prometheus.yml scrapes every service on the port the local mesh gives it', () => {
    const config = readFileSync(resolve(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8');
    const jobs = [...config.matchAll(/job_name: (\S+)/g)].map((m) => m[1]);
    expect(jobs.sort()).toEqual([...MESH_SERVICES].sort());
    // MESH_PORTS is what scripts/mesh.ts starts the services on (a second instance on port + 100)
    for (const [name, port] of Object.entries(MESH_PORTS)) {
      const block = config.slice(config.indexOf(`job_name: ${name}\n`)).split('job_name:')[1];
      expect(block, `${name} on ${port}`).toContain(`"127.0.0.1:${port}"`);
    }
    const compose = readFileSync(resolve(PROMETHEUS_DIR, 'prometheus.compose.yml'), 'utf8');
    expect([...compose.matchAll(/job_name: (\S+)/g)].map((m) => m[1]).sort()).toEqual([...MESH_SERVICES].sort());
  });
});

describe('infra/grafana dashboards as committed', () => {
  it('are exactly what infra/grafana/generate.ts makes of the specs (regenerate after editing a spec)', () => {
    const committed = committedDashboards();
    expect(committed.map((d) => d.file).sort()).toEqual(allDashboards.map((s) => `${s.file}.json`).sort());
    for (const spec of allDashboards) {
      expect(committed.find((d) => d.file === `${spec.file}.json`)?.json, spec.file).toEqual(toGrafanaJson(spec));
    }
  });

  it('an overview, one per service and a model dashboard, on the provisioned datasource, with unique ids', () => {
    const uids = allDashboards.map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids).toEqual(
      expect.arrayContaining(['flywheel-overview', 'flywheel-model', ...MESH_SERVICES.map((s) => `flywheel-${s}`)]),
    );
    const provisioned = readFileSync(
      resolve(REPO_ROOT, 'infra/grafana/provisioning/datasources/prometheus.yml'),
      'utf8',
    );
    const uid = /uid: (\S+)/.exec(provisioned)?.[1];
    for (const { file, json } of committedDashboards()) {
      const panels = json.panels as Array<{ id: number; type: string; datasource?: { uid: string } }>;
      expect(new Set(panels.map((p) => p.id)).size, file).toBe(panels.length);
      for (const panel of panels.filter((p) => p.type !== 'row')) expect(panel.datasource?.uid, file).toBe(uid);
    }
  });
});

interface PanelRef {
  dashboard: string;
  panel: string;
  exprs: string[];
}

function panelsOf(spec: DashboardSpec): PanelRef[] {
  return spec.rows.flatMap((row) =>
    row.panels.map((panel) => ({
      dashboard: spec.title,
      panel: `${row.title} / ${panel.title}`,
      exprs: panel.targets.map((t) => t.expr),
    })),
  );
}

/** Shortest load window the dashboards are evaluated over (scrapes every second). */
const MIN_LOAD_WINDOW_S = 20;

/** What Grafana would send: its interval variables as fixed windows, template variables as "all". */
function substitute(expr: string, rangeSeconds: number): string {
  const out = expr
    .replaceAll('$__rate_interval', '15s')
    .replaceAll('$__range', `${rangeSeconds}s`)
    .replaceAll('$model', '.*');
  if (out.includes('$')) throw new Error(`unknown Grafana variable in ${expr}`);
  return out;
}

describe.skipIf(!HAVE_PROMETHEUS)('dashboards and alert rules against the real Prometheus and a loaded mesh', () => {
  const env = testEnv();
  let mesh: LocalMesh;
  let prometheus: PrometheusServer;
  let loadStart: number;
  /** Sample names every service's /metrics declares. */
  const exported = new Set<string>(PROMETHEUS_OWN);
  /** Metric families (# TYPE names) of every service. */
  const families = new Set<string>();

  /** Seconds since the load started: the window the assertions look back over. */
  const sinceLoad = () => Math.ceil(Date.now() / 1000) - loadStart + 5;
  const metricValue = async (service: MeshService, pattern: RegExp): Promise<number> => {
    const text = await (await fetch(`${mesh.url(service)}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^${pattern.source} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  };

  /** Where the load is in the mesh, per stage, for waits and for their failure messages. */
  const STAGES: Array<[MeshService, string, RegExp]> = [
    ['collector', 'accepted', /flywheel_collector_events_total\{[^}]*outcome="accepted"[^}]*\}/],
    ['enrichment-api', 'enriched', /flywheel_enrichment_api_events_out_total\{[^}]*\}/],
    ['enrichment-api', 'rejected', /flywheel_enrichment_api_events_rejected_total\{[^}]*\}/],
    ['feature-materializer', 'vectors', /flywheel_features_vectors_emitted_total(?:\{[^}]*\})?/],
    ['feature-materializer', 'labels', /flywheel_features_labels_total(?:\{[^}]*\})?/],
    ['stream-inference', 'scored', /flywheel_inference_rows_scored_total\{[^}]*mode="stream"[^}]*\}/],
    ['stream-inference', 'dead-lettered', /flywheel_kafka_dead_lettered_messages_total\{[^}]*\}/],
    ['monitor', 'live auc', /flywheel_monitor_auc\{[^}]*\}/],
    ['trainer', 'runs', /flywheel_trainer_runs_total\{[^}]*\}/],
    [
      'registry',
      'registered from models.trained.v1',
      /flywheel_registry_models_versions_registered_total\{[^}]*source="event"[^}]*\}/,
    ],
    ['dead-letter-alerter', 'alerts delivered', /flywheel_dlq_alert_deliveries_total\{[^}]*\}/],
  ];
  const count = (service: MeshService, stage: string) => {
    const found = STAGES.find(([s, name]) => s === service && name === stage);
    if (!found) throw new Error(`no stage ${service} ${stage}`);
    return metricValue(service, found[2]);
  };
  const progress = async () =>
    (
      await Promise.all(
        STAGES.map(async ([s, name, pattern]) => `${s} ${name}=${await metricValue(s, pattern).catch(() => NaN)}`),
      )
    ).join(', ');
  const waitForPipeline = (what: string, condition: () => Promise<boolean>) =>
    waitUntil(condition, { timeoutMs: 90_000, intervalMs: 500, message: what }).catch(async (error: Error) => {
      throw new Error(`${error.message}; pipeline: ${await progress()}`);
    });

  beforeAll(async () => {
    const started = Date.now();
    mesh = await startLocalMesh({
      kafkaBrokers: env.kafkaBrokers,
      postgresUrl: env.databaseUrl,
      prefix: testPrefix('obs'),
      // seven services start at once after the registry; on a 2-core machine shared with other test runs,
      // loading their modules alone took up to three minutes
      startTimeoutMs: 240_000,
      afterRegistry: (registry, token) => registerProductionModel(registry.url, token),
      env: {
        'stream-inference': { BATCH_MAX_WAIT_MS: '20', MODEL_NAME: 'payments-fraud' },
        monitor: {
          DRIFT_WINDOW_SIZE: '50',
          DRIFT_MIN_SAMPLES: '10',
          QUALITY_WINDOW: '50',
          DRIFT_CALIBRATION_SIMULATIONS: '200',
          DRIFT_PROMOTION_COOLDOWN_MS: '0',
        },
        trainer: {
          TRAINER_FEATURE_NAMES: MODEL_FEATURES.join(','),
          MIN_TRAINING_ROWS: '100',
          TRAINER_MIN_CLASS_ROWS: '2',
          TRAINER_EPOCHS: '3',
        },
        'dead-letter-alerter': {
          DLQ_REFRESH_INTERVAL_MS: '1000',
          ALERT_EVAL_INTERVAL_MS: '1000',
          TRAFFIC_SAMPLE_INTERVAL_MS: '1000',
        },
      },
    });
    prometheus = await startPrometheus({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [resolve(PROMETHEUS_DIR, 'rules/*.yml')],
      // the committed prometheus.yml's jobs (asserted above), on this mesh's ports
      scrape_configs: [...mesh.services].map(([name, service]) => ({
        job_name: name,
        static_configs: [{ targets: [`127.0.0.1:${service.port}`] }],
      })),
    });
    // every target scraped once before the load, so the first increase of every counter is seen
    await waitUntil(async () => (await prometheus.targets()).every((t) => t.health === 'up'), {
      timeoutMs: 30_000,
      message: 'every service scraped',
    });
    loadStart = Math.floor(Date.now() / 1000);

    const meshUp = Date.now();
    const load = await sendLoad(mesh.url('collector'), mesh.apiKey, 400);
    expect({ accepted: load.accepted, rejected: load.rejected }).toEqual({
      accepted: load.sent.valid,
      rejected: load.sent.invalid,
    });
    // 400 transactions + one enrichment-poison event per request reach enrichment-api; one event of a zero
    // amount breaks a rule too, so wait for what enrichment let through rather than a fixed number
    const enrichable = load.sent.valid - 400;
    await waitForPipeline(
      'every transaction enriched or rejected',
      async () =>
        (await count('enrichment-api', 'enriched')) + (await count('enrichment-api', 'rejected')) >= enrichable,
    );
    const enriched = await count('enrichment-api', 'enriched');
    expect(enriched).toBeGreaterThanOrEqual(390);
    await waitForPipeline(
      'every enriched transaction scored',
      async () => (await count('stream-inference', 'scored')) >= enriched,
    );
    await waitForPipeline(
      'labels stored by the feature store',
      async () => (await count('feature-materializer', 'labels')) >= 400,
    );
    const scored = Date.now();
    await requestRetrain(env.kafkaBrokers, mesh.url('registry'), mesh.prefix);
    await waitForPipeline(
      'the retrained model registered from models.trained.v1',
      async () => (await count('registry', 'registered from models.trained.v1')) >= 1,
    );
    await waitForPipeline('live AUC from labelled predictions', async () => (await count('monitor', 'live auc')) > 0);
    await waitForPipeline(
      'a dead-letter alert delivered',
      async () => (await count('dead-letter-alerter', 'alerts delivered')) > 0,
    );
    for (const service of mesh.services.values()) {
      const text = await (await fetch(`${service.url}/metrics`)).text();
      for (const name of exportedSampleNames(text)) exported.add(name);
      for (const [, name] of text.matchAll(/^# TYPE (\S+) /gm)) families.add(name);
    }
    // what the services show now has been scraped and the rules have been evaluated on it
    console.info(
      `[observability] mesh up in ${Math.round((meshUp - started) / 1000)} s; 400 transactions through the pipeline in ${Math.round((scored - meshUp) / 1000)} s; ` +
        `retrain request to registered model and the last facts in ${Math.round((Date.now() - scored) / 1000)} s`,
    );
    // On a quiet machine the whole pipeline runs in a few seconds; give range queries (increase over the load,
    // rate windows of 15 s) a window of at least MIN_LOAD_WINDOW_S of scrapes to look back over.
    const short = (loadStart + MIN_LOAD_WINDOW_S) * 1000 - Date.now();
    if (short > 0) await new Promise((r) => setTimeout(r, short));
    const seen = Date.now() / 1000;
    await waitUntil(
      async () => {
        const rules = await prometheus.rules();
        return rules.every(
          (r) =>
            r.health === 'ok' && Date.parse((r as { lastEvaluation?: string }).lastEvaluation ?? '') / 1000 > seen + 1,
        );
      },
      { timeoutMs: 20_000, message: 'rules evaluated after the load' },
    );
  }, 480_000);

  afterAll(async () => {
    await prometheus?.stop();
    await mesh?.stop();
  });

  it('scraped every service of the mesh during the load', async () => {
    const targets = await prometheus.targets();
    expect(targets.map((t) => t.labels.job).sort()).toEqual([...MESH_SERVICES].sort());
    // over the run, not at this instant: a training run blocks the trainer's event loop, so one scrape of it
    // can time out (a 1 s timeout here)
    const scraped = await prometheus.query(`max by (job) (max_over_time(up[${sinceLoad()}s]))`);
    expect(
      scraped
        .filter((s) => s.value?.[1] === '1')
        .map((s) => s.metric.job)
        .sort(),
    ).toEqual([...MESH_SERVICES].sort());
  });

  it('every consumer exports its lag per group, topic and partition', async () => {
    const lag = await prometheus.query(`max_over_time(flywheel_kafka_consumer_lag_messages[${sinceLoad()}s])`);
    const byService = new Map<string, Set<string>>();
    for (const { metric } of lag) {
      expect(metric).toEqual(expect.objectContaining({ group: expect.any(String), topic: expect.any(String) }));
      expect(metric.partition).toMatch(/^\d+$/);
      byService.set(metric.service, (byService.get(metric.service) ?? new Set()).add(metric.topic));
    }
    expect([...byService.keys()].sort()).toEqual([...CONSUMING].sort());
    // every partition of a consumed 6-partition topic is reported by its (single) member
    const vectors = lag.filter(
      (s) => s.metric.service === 'stream-inference' && s.metric.topic.endsWith('features.vectors.v1'),
    );
    expect(vectors.map((s) => s.metric.partition).sort()).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('documents every flywheel_* metric the services export, and no other (infra/prometheus/README.md)', () => {
    const readme = readFileSync(resolve(PROMETHEUS_DIR, 'README.md'), 'utf8');
    const documented = [...readme.matchAll(/^\| `(flywheel_[a-z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(new Set(documented).size).toBe(documented.length);
    expect(documented.sort()).toEqual([...families].filter((f) => f.startsWith('flywheel_')).sort());
  });

  it('every alert rule is loaded, evaluates without error and reads only exported metrics', async () => {
    const rules = await prometheus.rules();
    const inFiles = readdirSync(resolve(PROMETHEUS_DIR, 'rules')).flatMap((f) => [
      ...readFileSync(resolve(PROMETHEUS_DIR, 'rules', f), 'utf8').matchAll(/- alert: (\S+)/g),
    ]);
    expect(rules.map((r) => r.name).sort()).toEqual(inFiles.map((m) => m[1]).sort());
    for (const rule of rules) {
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({
        rule: rule.name,
        health: 'ok',
        error: '',
      });
      await prometheus.query(rule.query); // a parse error throws
      for (const name of metricNamesIn(rule.query)) expect(exported, `${rule.name} reads ${name}`).toContain(name);
    }
  });

  it('every dashboard expression parses, reads only exported metrics, and every panel returns data', async () => {
    const end = Math.ceil(Date.now() / 1000);
    const range = end - loadStart;
    const empty: string[] = [];
    const unknown: string[] = [];
    const nanOnly: string[] = [];
    const panels = allDashboards.flatMap(panelsOf);
    for (const panel of panels) {
      let series = 0;
      let finite = 0;
      for (const expr of panel.exprs) {
        for (const name of metricNamesIn(expr)) {
          if (!exported.has(name)) unknown.push(`${panel.dashboard} / ${panel.panel}: ${name}`);
        }
        const result = await prometheus.queryRange(substitute(expr, range), loadStart, end, 2);
        series += result.length;
        finite += result.filter((s) => s.values?.some(([, v]) => Number.isFinite(Number(v)))).length;
      }
      if (series === 0) empty.push(`${panel.dashboard} / ${panel.panel}`);
      else if (finite === 0) nanOnly.push(`${panel.dashboard} / ${panel.panel}`);
    }
    for (const spec of allDashboards) {
      for (const variable of spec.variables ?? []) {
        const values = await prometheus.query(`group by (${variable.labelName}) (${variable.metric})`);
        expect(values.length, `${spec.title}: variable ${variable.name}`).toBeGreaterThan(0);
      }
    }
    console.info(
      `[observability] ${panels.length} panels, ${panels.reduce((n, p) => n + p.exprs.length, 0)} expressions over ${range} s of load` +
        (nanOnly.length
          ? `; panels with series but only NaN (no observation in the window): ${nanOnly.join('; ')}`
          : ''),
    );
    expect(unknown).toEqual([]);
    expect(empty).toEqual([]);
  });
});
