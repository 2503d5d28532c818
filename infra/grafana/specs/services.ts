import type { DashboardSpec } from '../lib/grafana';
import { gaugeMax, gaugeSum, increaseOverRange, quantile, rate } from '../lib/promql';
import { serviceDashboard } from './service-template';

const collector = serviceDashboard({
  service: 'collector',
  description:
    'HTTP ingest: requests by status, events accepted and rejected, batch sizes, time to Kafka acknowledgement.',
  consumes: false,
  produces: true,
  rows: [
    {
      title: 'Ingest',
      panels: [
        {
          title: 'Requests by status',
          description:
            'POST /v1/events answers per second: 2xx (every event durable), 401/403 (API key), 413 (too large), 422 (some events invalid), 429 (rate limit), 503 (Kafka did not acknowledge; retry).',
          unit: 'reqps',
          targets: [{ expr: rate('flywheel_collector_requests_total', '', ['status']), legend: '{{status}}' }],
        },
        {
          title: 'Events by type and outcome',
          description:
            'Events per second accepted or rejected, per event type; rejected ones go to the DLQ with their reason.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_collector_events_total', '', ['type', 'outcome']), legend: '{{type}} {{outcome}}' },
          ],
        },
        {
          title: 'Rejections by reason',
          description: 'Rejected events per second by failure kind (schema-violation, payload-format, size).',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_collector_events_total', 'outcome="rejected"', ['reason']), legend: '{{reason}}' },
          ],
        },
        {
          title: 'Time to acknowledgement',
          description: 'p50/p99 time for Kafka to acknowledge a request’s writes (the client waits for it).',
          unit: 's',
          targets: [0.5, 0.99].map((q) => ({
            expr: quantile(q, 'flywheel_collector_produce_duration_seconds'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Events per request',
          description: 'Median and p95 batch size; small batches cost more per event.',
          targets: [0.5, 0.95].map((q) => ({
            expr: quantile(q, 'flywheel_collector_batch_size_events'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'DLQ write failures',
          description:
            'Whole-body dead letters (400/403) Kafka did not acknowledge. The client still got its 4xx; only the copy in the DLQ is missing.',
          unit: 'short',
          targets: [{ expr: increaseOverRange('flywheel_collector_dlq_write_failures_total'), legend: 'failures' }],
        },
      ],
    },
  ],
});

const enrichment = serviceDashboard({
  service: 'enrichment-api',
  description:
    'Reference-data enrichment of events.raw.v1: events in and out, business-rule rejections, the reference cache.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Enrichment',
      panels: [
        {
          title: 'Events in and out',
          description:
            'Raw events taken in and enriched events produced per second, per path (stream = events.raw.v1, online = POST /v1/enrich).',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_enrichment_api_events_in_total', '', ['path']), legend: 'in {{path}}' },
            { expr: rate('flywheel_enrichment_api_events_out_total', '', ['path']), legend: 'out {{path}}' },
          ],
        },
        {
          title: 'Unknown reference data',
          description:
            'Enriched events whose account or merchant is not in the reference data (enriched with defaults). A rise means reference loads are behind.',
          unit: 'ops',
          targets: [
            {
              expr: rate('flywheel_enrichment_api_events_out_total', '', ['account_known', 'merchant_known']),
              legend: 'account {{account_known}}, merchant {{merchant_known}}',
            },
          ],
        },
        {
          title: 'Rejected by rule',
          description: 'Events that broke a business rule per second (dead-lettered to events.raw.v1.dlq), by rule.',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_enrichment_api_events_rejected_total', '', ['rule']), legend: '{{rule}}' }],
        },
        {
          title: 'Cache hit ratio',
          description: 'Share of reference lookups answered from the LRU cache, per kind (account, merchant, rate).',
          unit: 'percentunit',
          min: 0,
          max: 1,
          targets: [
            {
              expr: `${rate('flywheel_enrichment_api_cache_lookups_total', 'result="hit"', ['kind'])} / ${rate('flywheel_enrichment_api_cache_lookups_total', '', ['kind'])}`,
              legend: '{{kind}}',
            },
          ],
        },
        {
          title: 'Cache entries and invalidation',
          description:
            'Entries per cache, and whether the LISTEN connection that invalidates them is up (0 = every lookup reads Postgres).',
          targets: [
            { expr: gaugeSum('flywheel_enrichment_api_cache_entries', '', ['kind']), legend: '{{kind}} entries' },
            { expr: gaugeMax('flywheel_enrichment_api_cache_listening'), legend: 'listening' },
          ],
        },
        {
          title: 'Latency',
          description:
            'p95 time to enrich a batch and get its output acknowledged, and p95 from the collector’s received_time to the enriched event being acknowledged.',
          unit: 's',
          targets: [
            { expr: quantile(0.95, 'flywheel_enrichment_api_batch_duration_seconds'), legend: 'batch p95' },
            {
              expr: quantile(0.95, 'flywheel_enrichment_api_event_latency_seconds'),
              legend: 'received → enriched p95',
            },
          ],
        },
      ],
    },
  ],
});

const features = serviceDashboard({
  service: 'feature-materializer',
  description:
    'Windowed per-entity aggregates with exactly-once state: events applied, vectors emitted, state size, commit time.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Features',
      panels: [
        {
          title: 'Events applied by outcome',
          description:
            'Enriched events applied exactly once per second, by outcome: vector (emitted), late (dead-lettered), duplicate (event_id seen), invalid.',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_features_events_total', '', ['outcome']), legend: '{{outcome}}' }],
        },
        {
          title: 'Vectors emitted and labels stored',
          description: 'Feature vectors produced to features.vectors.v1 and labels stored from labels.v1, per second.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_features_vectors_emitted_total'), legend: 'vectors' },
            { expr: rate('flywheel_features_labels_total'), legend: 'labels' },
          ],
        },
        {
          title: 'Late and skipped',
          description:
            'Events older than the allowed lateness (not counted, dead-lettered) and messages skipped because Postgres already held them (redelivery after a rebalance or restart).',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_features_late_events_total'), legend: 'late' },
            { expr: rate('flywheel_features_skipped_messages_total', '', ['reason']), legend: 'skipped {{reason}}' },
          ],
        },
        {
          title: 'Commit duration',
          description:
            'p50/p95 of one partition batch: state, offsets and logs in one transaction, including the vector produce before COMMIT.',
          unit: 's',
          targets: [0.5, 0.95].map((q) => ({
            expr: quantile(q, 'flywheel_features_commit_duration_seconds'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Entities with state',
          description: 'Entities (accounts) holding window state in this namespace.',
          targets: [{ expr: gaugeMax('flywheel_features_state_entities'), legend: 'entities' }],
        },
      ],
    },
  ],
});

const inference = serviceDashboard({
  service: 'stream-inference',
  description:
    'Micro-batched tfjs scoring: rows scored, batch sizes, predict time, end-to-end latency, model versions and swaps.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Scoring',
      panels: [
        {
          title: 'Rows scored',
          description:
            'Rows scored per second per mode (stream = predictions.v1, shadow, request = POST /v1/predict) and instance.',
          unit: 'ops',
          targets: [
            {
              expr: rate('flywheel_inference_rows_scored_total', '', ['mode', 'instance_id']),
              legend: '{{mode}} {{instance_id}}',
            },
          ],
        },
        {
          title: 'Rows per micro-batch',
          description: 'Median and p95 rows per tensor; bigger batches amortise the per-batch cost.',
          targets: [0.5, 0.95].map((q) => ({
            expr: quantile(q, 'flywheel_inference_batch_size_rows', '', ['mode']),
            legend: `p${q * 100} {{mode}}`,
          })),
        },
        {
          title: 'Predict time (p99)',
          description: 'Vectorise + predict time of one micro-batch, per backend (wasm or tensorflow).',
          unit: 's',
          targets: [
            {
              expr: quantile(0.99, 'flywheel_inference_predict_duration_seconds', '', ['mode', 'backend']),
              legend: '{{mode}} {{backend}}',
            },
          ],
        },
        {
          title: 'End to end latency',
          description: 'p50/p99 from a vector’s event_time to its prediction being acknowledged.',
          unit: 's',
          targets: [0.5, 0.99].map((q) => ({
            expr: quantile(q, 'flywheel_inference_end_to_end_latency_seconds'),
            legend: `p${q * 100}`,
          })),
        },
        {
          title: 'Idle instances',
          description: 'Instances holding no partition of features.vectors.v1 (more instances than partitions).',
          kind: 'stat',
          targets: [{ expr: gaugeSum('flywheel_inference_idle'), legend: 'idle' }],
        },
        {
          title: 'Shadow scoring problems',
          description:
            'Shadow batches skipped (sends still in flight) or failed; never slows or fails the serving batch.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_inference_shadow_dropped_batches_total'), legend: 'dropped' },
            { expr: rate('flywheel_inference_shadow_failures_total'), legend: 'failed' },
          ],
        },
      ],
    },
    {
      title: 'Models',
      panels: [
        {
          title: 'Versions loaded',
          description: 'The model version each instance serves (and shadow-scores), with its backend.',
          kind: 'stat',
          showName: true,
          width: 12,
          targets: [
            {
              expr: gaugeMax('flywheel_inference_model_info', '', [
                'instance_id',
                'model',
                'version',
                'role',
                'backend',
              ]),
              legend: '{{instance_id}}: {{model}} v{{version}} {{role}} ({{backend}})',
            },
          ],
        },
        {
          title: 'Swaps and load failures',
          description:
            'Versions swapped in (the first load counts) and versions refused (download, sha256, format) over the time range. Alert: FlywheelModelLoadFailed.',
          kind: 'stat',
          width: 12,
          targets: [
            { expr: increaseOverRange('flywheel_inference_model_swaps_total', '', ['role']), legend: 'swaps {{role}}' },
            {
              expr: increaseOverRange('flywheel_inference_model_load_failures_total', '', ['reason']),
              legend: 'refused {{reason}}',
            },
          ],
        },
      ],
    },
  ],
});

const registry = serviceDashboard({
  service: 'registry',
  description:
    'Schema registry (registrations, compatibility, lookups) and model registry (versions, stages, promotion, outbox relay).',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Schema registry',
      panels: [
        {
          title: 'Registrations and compatibility failures',
          description:
            'Schema registrations per second (created = a new version, existing = idempotent re-registration at producer start-up) and schemas refused as incompatible.',
          unit: 'ops',
          targets: [
            { expr: rate('flywheel_registry_schema_registrations_total', '', ['result']), legend: '{{result}}' },
            {
              expr: rate('flywheel_registry_schema_compatibility_failures_total', '', ['operation']),
              legend: 'incompatible ({{operation}})',
            },
          ],
        },
        {
          title: 'Schema lookups',
          description:
            'Lookups per second by kind and result; serdes cache by id, so this should flatten after start-up.',
          unit: 'ops',
          width: 16,
          targets: [
            {
              expr: rate('flywheel_registry_schema_lookups_total', '', ['kind', 'result']),
              legend: '{{kind}} {{result}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Model registry',
      panels: [
        {
          title: 'Versions registered and stage changes',
          description:
            'Model versions registered (api or models.trained.v1) and stage changes by target stage, over the time range.',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_registry_models_versions_registered_total', '', ['source']),
              legend: 'registered ({{source}})',
            },
            {
              expr: increaseOverRange('flywheel_registry_models_stage_changes_total', '', ['to_stage']),
              legend: '→ {{to_stage}}',
            },
          ],
        },
        {
          title: 'Promotion decisions',
          description:
            'Policy verdicts on trained candidates over the time range: promoted, refused, or left to a person (manual).',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_registry_models_promotion_decisions_total', '', ['decision']),
              legend: '{{decision}}',
            },
          ],
        },
        {
          title: 'Lifecycle outbox',
          description:
            'Lifecycle changes committed but not yet acknowledged by Kafka, and the age of the oldest: a climb means the relay is stuck.',
          targets: [
            { expr: gaugeMax('flywheel_registry_models_outbox_pending'), legend: 'pending' },
            { expr: gaugeMax('flywheel_registry_models_outbox_oldest_pending_age_seconds'), legend: 'oldest age (s)' },
          ],
        },
        {
          title: 'Outbox relay',
          description: 'Lifecycle events sent per second, failed relay rounds per second, and p95 send time.',
          targets: [
            { expr: rate('flywheel_registry_models_relay_sent_total'), legend: 'sent/s' },
            { expr: rate('flywheel_registry_models_relay_errors_total'), legend: 'failed rounds/s' },
            { expr: quantile(0.95, 'flywheel_registry_models_relay_send_duration_seconds'), legend: 'send p95 (s)' },
          ],
        },
      ],
    },
  ],
});

const monitor = serviceDashboard({
  service: 'monitor',
  description:
    'Drift of the Production version: PSI/KS per feature and score, live quality from labels, retrain requests.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Drift',
      panels: [
        {
          title: 'PSI per feature',
          description:
            'Population stability index of the newest window against the baseline (_score = the model score).',
          targets: [
            { expr: gaugeMax('flywheel_monitor_psi', '', ['version', 'feature']), legend: 'v{{version}} {{feature}}' },
          ],
        },
        {
          title: 'KS per feature',
          description: 'Kolmogorov-Smirnov distance of the newest window against the baseline.',
          targets: [
            { expr: gaugeMax('flywheel_monitor_ks', '', ['version', 'feature']), legend: 'v{{version}} {{feature}}' },
          ],
        },
        {
          title: 'Judged drifted',
          description:
            '1 when the newest window of a feature crossed its calibrated threshold. Sustained 1s lead to a retrain request (hysteresis, cooldown). Alert: FlywheelDriftSustained.',
          targets: [{ expr: gaugeMax('flywheel_monitor_drifted', '', ['feature']), legend: '{{feature}}' }],
        },
        {
          title: 'Live AUC and window samples',
          description: 'ROC AUC over the latest labelled predictions, and samples in the newest windows.',
          targets: [
            { expr: gaugeMax('flywheel_monitor_auc', '', ['version']), legend: 'AUC v{{version}}' },
            { expr: gaugeMax('flywheel_monitor_window_samples', '', ['kind']), legend: '{{kind}} samples' },
          ],
        },
        {
          title: 'Windows, reports and retrain requests',
          description:
            'Windows judged per detector kind (features, score, quality), drift reports emitted and retrain requests raised over the time range.',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_monitor_windows_evaluated_total', '', ['kind']),
              legend: '{{kind}} windows',
            },
            { expr: increaseOverRange('flywheel_monitor_drift_reports_total'), legend: 'reports' },
            {
              expr: increaseOverRange('flywheel_monitor_retrain_requests_total', '', ['reason']),
              legend: 'requests {{reason}}',
            },
          ],
        },
      ],
    },
  ],
});

const trainer = serviceDashboard({
  service: 'trainer',
  description:
    'Training runs on retrain requests: outcomes, duration, rows, holdout metrics of candidate vs Production.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Training',
      panels: [
        {
          title: 'Runs by outcome',
          description:
            'Runs over the time range: trained (published), refused (with reason: too few rows, not better, …), failed.',
          kind: 'stat',
          targets: [
            {
              expr: increaseOverRange('flywheel_trainer_runs_total', '', ['outcome', 'reason']),
              legend: '{{outcome}} {{reason}}',
            },
          ],
        },
        {
          title: 'Run duration',
          description: 'Wall time of the slowest run in the rate window, by outcome (request to published outcome).',
          unit: 's',
          targets: [
            { expr: quantile(0.99, 'flywheel_trainer_run_duration_seconds', '', ['outcome']), legend: '{{outcome}}' },
          ],
        },
        {
          title: 'Rows of the last run',
          description: 'Labelled rows in the window, the train/holdout split, and rows dropped for unusable features.',
          targets: [{ expr: gaugeMax('flywheel_trainer_rows', '', ['set']), legend: '{{set}}' }],
        },
        {
          title: 'Holdout metrics of the last trained run',
          description: 'Candidate vs the Production model on the same holdout; the registry policy promotes on these.',
          targets: [
            {
              expr: gaugeMax('flywheel_trainer_holdout_metric', '', ['role', 'metric']),
              legend: '{{role}} {{metric}}',
            },
          ],
        },
        {
          title: 'Since the last trained model',
          description: 'Time since a run last published a trained model (huge when none has yet).',
          unit: 's',
          kind: 'stat',
          targets: [{ expr: 'time() - max(flywheel_trainer_last_trained_timestamp_seconds)', legend: 'since' }],
        },
      ],
    },
  ],
});

const deadLetterAlerter = serviceDashboard({
  service: 'dead-letter-alerter',
  description: 'Every *.dlq topic: dead letters by stage and kind, alert states, alert delivery, replays.',
  consumes: true,
  produces: true,
  rows: [
    {
      title: 'Dead letters',
      panels: [
        {
          title: 'Dead letters by stage and kind',
          description: 'Dead letters read per second, by the stage that wrote them and their failure kind.',
          unit: 'ops',
          targets: [{ expr: rate('flywheel_dlq_messages_total', '', ['stage', 'kind']), legend: '{{stage}} {{kind}}' }],
        },
        {
          title: 'Retained per DLQ topic',
          description: 'Records retained in each DLQ topic (high minus low watermark): what a replay could select.',
          targets: [{ expr: gaugeMax('flywheel_dlq_topic_messages', '', ['dlq_topic']), legend: '{{dlq_topic}}' }],
        },
        {
          title: 'In the widest rule window',
          description: 'Dead letters inside the widest alert-rule window, by source topic, stage and kind.',
          targets: [
            {
              expr: gaugeMax('flywheel_dlq_window_messages', '', ['topic', 'stage', 'kind']),
              legend: '{{stage}} {{kind}} ← {{topic}}',
            },
          ],
        },
        {
          title: 'DLQ topics and undecodable records',
          description:
            'DLQ topics consumed, and records of a DLQ that are not a DeadLetter envelope (counted and skipped).',
          targets: [
            { expr: gaugeMax('flywheel_dlq_topics'), legend: 'topics' },
            {
              expr: increaseOverRange('flywheel_dlq_undecodable_messages_total', '', ['dlq_topic']),
              legend: 'undecodable {{dlq_topic}}',
            },
          ],
        },
      ],
    },
    {
      title: 'Alerts and replays',
      panels: [
        {
          title: 'Alerts firing',
          description:
            'Alert state per rule (1 firing, 0 resolved), from the alerter’s own rules (DeadLettersPresent, NewFailureKind, …).',
          kind: 'stat',
          targets: [
            {
              expr: gaugeMax('flywheel_dlq_alert_state', '', ['rule', 'stage', 'kind']),
              legend: '{{rule}} {{stage}} {{kind}}',
            },
          ],
        },
        {
          title: 'Alert deliveries',
          description:
            'Notifications per sink (alerts topic, webhooks) by outcome, and notifications waiting in each outbox.',
          targets: [
            {
              expr: increaseOverRange('flywheel_dlq_alert_deliveries_total', '', ['sink', 'outcome']),
              legend: '{{sink}} {{outcome}}',
            },
            { expr: gaugeMax('flywheel_dlq_alert_outbox_notifications', '', ['sink']), legend: '{{sink}} waiting' },
          ],
        },
        {
          title: 'Alert transitions and replays',
          description:
            'Alert state changes emitted, and DLQ records handled by replays (sent, skipped, not-replayable, dry-run).',
          kind: 'stat',
          targets: [
            { expr: increaseOverRange('flywheel_dlq_alert_transitions_total', '', ['status']), legend: '{{status}}' },
            {
              expr: increaseOverRange('flywheel_dlq_replayed_messages_total', '', ['outcome']),
              legend: 'replayed {{outcome}}',
            },
          ],
        },
      ],
    },
  ],
});

/** One dashboard per service, in the order of the data flow. */
export const serviceDashboards: DashboardSpec[] = [
  collector,
  enrichment,
  features,
  inference,
  registry,
  monitor,
  trainer,
  deadLetterAlerter,
];
