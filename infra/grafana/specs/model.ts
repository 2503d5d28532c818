import type { DashboardSpec } from '../lib/grafana';
import { gaugeMax, increaseOverRange, quantile, RATE_WINDOW } from '../lib/promql';

const model = 'model=~"$model"';

/** The model's life: what is served, what it outputs, how its inputs drift, and the retraining loop. */
export const modelDashboard: DashboardSpec = {
  uid: 'flywheel-model',
  title: 'Flywheel / Model',
  file: 'model',
  description:
    'Model version in use, score distribution, drift per feature (PSI, KS), live AUC, retrain requests, training outcomes, promotions and swaps.',
  variables: [{ name: 'model', label: 'Model', metric: 'flywheel_inference_model_info', labelName: 'model' }],
  rows: [
    {
      title: 'Serving',
      panels: [
        {
          title: 'Version in use',
          description:
            'The version each role serves (serving = predictions.v1, shadow = predictions.shadow.v1), over all instances.',
          kind: 'stat',
          showName: true,
          targets: [
            {
              expr: gaugeMax('flywheel_inference_model_info', model, ['model', 'version', 'role']),
              legend: '{{role}}: {{model}} v{{version}}',
            },
          ],
        },
        {
          title: 'Instances per version',
          description:
            'How many instances serve each version: during a swap both show up for a moment; stuck at two means a failed load.',
          targets: [
            {
              expr: `count by (version, role) (flywheel_inference_model_info{${model}})`,
              legend: 'v{{version}} {{role}}',
            },
          ],
        },
        {
          title: 'Swaps and refused versions',
          description:
            'Versions swapped in (the first load counts) and refused (download, sha256, format, load) over the time range.',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_inference_model_swaps_total', model, ['role']),
              legend: 'swaps {{role}}',
            },
            {
              expr: increaseOverRange('flywheel_inference_model_load_failures_total', model, ['reason']),
              legend: 'refused {{reason}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Scores',
      panels: [
        {
          title: 'Score quantiles',
          description:
            'p10/p50/p90/p99 of the scores produced by the serving model (stream). A shift here without drifted features is concept drift or a new model.',
          min: 0,
          max: 1,
          targets: [0.1, 0.5, 0.9, 0.99].map((q) => ({
            expr: quantile(q, 'flywheel_inference_score', `${model}, mode="stream"`),
            legend: `p${Math.round(q * 100)}`,
          })),
        },
        {
          title: 'Share of scores ≥ 0.5',
          description:
            'Fraction of stream predictions scoring 0.5 or more (how much traffic the model flags), per model and mode.',
          unit: 'percentunit',
          min: 0,
          max: 1,
          targets: [
            {
              expr: `1 - sum by (model, mode) (rate(flywheel_inference_score_bucket{${model}, le="0.5"}[${RATE_WINDOW}])) / sum by (model, mode) (rate(flywheel_inference_score_count{${model}}[${RATE_WINDOW}]))`,
              legend: '{{model}} {{mode}}',
            },
          ],
        },
        {
          title: 'Score drift',
          description:
            'PSI and KS of the newest score window against the Production version’s baseline score histogram.',
          targets: [
            {
              expr: gaugeMax('flywheel_monitor_psi', `${model}, feature="_score"`, ['version']),
              legend: 'PSI v{{version}}',
            },
            {
              expr: gaugeMax('flywheel_monitor_ks', `${model}, feature="_score"`, ['version']),
              legend: 'KS v{{version}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Drift and quality',
      panels: [
        {
          title: 'PSI per feature',
          description:
            'Population stability index of each feature’s newest window (rule of thumb: > 0.2 is a real shift; the monitor uses calibrated thresholds).',
          targets: [
            {
              expr: gaugeMax('flywheel_monitor_psi', `${model}, feature!="_score"`, ['feature']),
              legend: '{{feature}}',
            },
          ],
        },
        {
          title: 'KS per feature',
          description: 'Kolmogorov-Smirnov distance of each feature’s newest window against the baseline histogram.',
          targets: [
            {
              expr: gaugeMax('flywheel_monitor_ks', `${model}, feature!="_score"`, ['feature']),
              legend: '{{feature}}',
            },
          ],
        },
        {
          title: 'Live AUC',
          description: 'ROC AUC over the latest labelled predictions (labels arrive late). Alert: FlywheelLiveAucLow.',
          min: 0,
          max: 1,
          targets: [{ expr: gaugeMax('flywheel_monitor_auc', model, ['version']), legend: 'v{{version}}' }],
        },
      ],
    },
    {
      title: 'Retraining loop',
      panels: [
        {
          title: 'Retrain requests',
          description: 'Requests raised by the monitor over the time range, by reason (DRIFT, QUALITY).',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_monitor_retrain_requests_total', model, ['reason']),
              legend: '{{reason}}',
            },
          ],
        },
        {
          title: 'Training outcomes',
          description: 'Trainer runs over the time range: trained, refused (reason), failed.',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_trainer_runs_total', 'outcome!="refused"', ['outcome']),
              legend: '{{outcome}}',
            },
            {
              expr: increaseOverRange('flywheel_trainer_runs_total', 'outcome="refused"', ['reason']),
              legend: 'refused {{reason}}',
            },
          ],
        },
        {
          title: 'Candidate vs Production (last run)',
          description: 'Holdout metrics of the last trained candidate and of the Production model on the same holdout.',
          targets: [
            {
              expr: gaugeMax('flywheel_trainer_holdout_metric', '', ['role', 'metric']),
              legend: '{{role}} {{metric}}',
            },
          ],
        },
        {
          title: 'Promotions',
          description:
            'Registry policy verdicts on trained candidates and stage changes over the time range; a promotion to Production leads to a swap above.',
          kind: 'stat',
          width: 24,
          targets: [
            {
              expr: increaseOverRange('flywheel_registry_models_promotion_decisions_total', '', ['decision']),
              legend: '{{decision}}',
            },
            {
              expr: increaseOverRange('flywheel_registry_models_stage_changes_total', '', ['to_stage']),
              legend: '→ {{to_stage}}',
            },
          ],
        },
      ],
    },
  ],
};
