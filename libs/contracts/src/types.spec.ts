import { types as avroTypes, Type } from 'avsc';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { avroTypeFor, schemaFor } from './schemas';
import { allTopicSpecs, type CatalogTopicName, type TopicName, topics } from './topics';
import {
  ALERT_STATUSES,
  CHANNELS,
  DECISIONS,
  type DeadLetter,
  MODEL_CHANGES,
  MODEL_STAGES,
  RETRAIN_REASONS,
  RISK_TIERS,
  type TopicValue,
  type TopicValueMap,
} from './types';

// Samples are "full": every nullable field non-null, every array and map non-empty, so each branch and
// nested record of each schema is exercised. Their TS type pins them to the interfaces; the checks below
// pin the interfaces (through the samples) to the schemas.
const t0 = Date.UTC(2025, 0, 15, 9, 30);

const raw: TopicValueMap['events.raw.v1'] = {
  event_id: '0b9a4d3e-1f6c-4c1e-9a53-6c2b1f0e7d11',
  event_type: 'transaction',
  event_time: t0,
  received_time: t0 + 120,
  source: 'pos-gateway@collector-1',
  api_key_id: 'key-42',
  account_id: 'acc-000123',
  merchant_id: 'mer-0042',
  amount: 42.5,
  currency: 'EUR',
  channel: 'ecom',
  card_present: false,
  device_id: 'dev-9f8e',
  ip_country: 'DE',
  attributes: { campaign: 'winter' },
};

const prediction: TopicValueMap['predictions.v1'] = {
  event_id: raw.event_id,
  entity: raw.account_id,
  event_time: t0,
  scored_time: t0 + 800,
  score: 0.93,
  decision: 'DECLINE',
  threshold: 0.9,
  review_threshold: 0.6,
  model_name: 'payments-fraud',
  model_version: 3,
  feature_set_version: '2',
  latency_ms: 800,
  instance: 'stream-inference-0',
};

const histogram = (name: string) => ({ name, bin_edges: [0, 0.5, 1], counts: [7, 3] });
const window = { start: t0 - 3_600_000, end: t0, samples: 5000 };

const samples: { [T in TopicName]: TopicValueMap[T] } = {
  'events.raw.v1': raw,
  'events.enriched.v1': {
    ...raw,
    enriched_time: t0 + 300,
    account_known: true,
    account_home_country: 'FR',
    account_opened_at: t0 - 400 * 86_400_000,
    account_segment: 'retail',
    merchant_known: true,
    merchant_mcc: '5732',
    merchant_category: 'electronics',
    merchant_risk_tier: 'HIGH',
    merchant_country: 'DE',
    base_currency: 'EUR',
    amount_base: 42.5,
    is_foreign: true,
    hour_of_day: 9,
    account_age_days: 400,
  },
  'labels.v1': {
    event_id: raw.event_id,
    account_id: raw.account_id,
    is_fraud: true,
    label_time: t0 + 20 * 86_400_000,
    source: 'chargeback-feed',
    reason: '10.4',
  },
  'reference.accounts.v1': {
    account_id: raw.account_id,
    home_country: 'FR',
    opened_at: t0 - 400 * 86_400_000,
    segment: 'retail',
    updated_at: t0 - 86_400_000,
  },
  'reference.merchants.v1': {
    merchant_id: raw.merchant_id,
    mcc: '5732',
    category: 'electronics',
    risk_tier: 'HIGH',
    country: 'DE',
    updated_at: t0 - 86_400_000,
  },
  'features.vectors.v1': {
    event_id: raw.event_id,
    entity: raw.account_id,
    event_time: t0,
    feature_set: 'payments-fraud',
    feature_set_version: '2',
    features: { amount_base: 42.5, txn_count_1h: 3, is_foreign: 1 },
  },
  'predictions.v1': prediction,
  'predictions.shadow.v1': { ...prediction, model_version: 4, instance: 'stream-inference-1' },
  'predictions.batch.v1': { ...prediction, instance: 'batch-scorer:run-1:0/1' },
  'models.lifecycle.v1': {
    change_id: '5d2c3b4a-8e7f-4a6b-9c1d-2e3f4a5b6c7d',
    model_name: 'payments-fraud',
    version: 4,
    change: 'STAGE_CHANGED',
    from_stage: 'Staging',
    to_stage: 'Production',
    alias: 'champion',
    aliases: { champion: 4, shadow: 5 },
    production_version: 4,
    production: {
      version: 4,
      artifact_uri: 'http://registry:3000/v1/models/payments-fraud/versions/4/artifact',
      artifact_sha256: 'a'.repeat(64),
      feature_set_version: '2',
    },
    artifact_uri: 'http://registry:3000/v1/models/payments-fraud/versions/4/artifact',
    artifact_sha256: 'a'.repeat(64),
    feature_set_version: '2',
    actor: 'policy',
    reason: 'auc 0.91 > 0.88 + 0.01',
    changed_at: t0,
  },
  'models.trained.v1': {
    run_id: '7e6d5c4b-3a29-4f18-8e07-d6c5b4a39281',
    model_name: 'payments-fraud',
    artifact_uri: 'http://registry:3000/v1/artifacts/7e6d5c4b',
    artifact_sha256: 'b'.repeat(64),
    artifact_size_bytes: 123_456,
    feature_set_version: '2',
    feature_names: ['amount_base', 'txn_count_1h', 'is_foreign'],
    metrics: { auc: 0.91, train_rows: 100_000 },
    production_version: 3,
    production_metrics: { auc: 0.88 },
    baseline: {
      features: [histogram('amount_base'), histogram('txn_count_1h'), histogram('is_foreign')],
      score: histogram('score'),
    },
    training_window_start: t0 - 30 * 86_400_000,
    training_window_end: t0,
    parent_version: 3,
    retrain_request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    trained_at: t0 + 600_000,
  },
  'models.retrain-requested.v1': {
    request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    model_name: 'payments-fraud',
    model_version: 3,
    requested_at: t0,
    requested_by: 'monitor-0',
    reason: 'DRIFT',
    evidence: [
      {
        detector: 'feature-psi',
        feature: 'amount_base',
        statistic: 'psi',
        value: 0.31,
        threshold: 0.2,
        window_start: window.start,
        window_end: window.end,
        samples: 5000,
      },
    ],
  },
  'models.train-refused.v1': {
    request_id: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    model_name: 'payments-fraud',
    reason_code: 'INSUFFICIENT_POSITIVES',
    message: 'only 12 positives in window, need 50',
    rows: 40_000,
    positives: 12,
    refused_at: t0,
  },
  'monitor.drift.v1': {
    report_id: '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
    model_name: 'payments-fraud',
    model_version: 3,
    window,
    features: [
      { feature: 'amount_base', psi: 0.31, ks_statistic: 0.2, ks_p_value: 0.001, chi2: 50.2, js: 0.12, drifted: true },
    ],
    score: { psi: 0.05, ks_statistic: 0.04, ks_p_value: 0.3, drifted: false },
    quality: { auc: 0.87, precision: 0.7, recall: 0.6, ece: 0.03, labelled_samples: 1200, positives: 40 },
    emitted_at: t0 + 1000,
  },
  'alerts.v1': {
    alert_id: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
    fingerprint: 'f00dfeed',
    rule: 'DeadLettersPresent',
    status: 'RESOLVED',
    severity: 'warning',
    labels: { topic: 'events.raw.v1.dlq' },
    annotations: { summary: 'dead letters on events.raw.v1.dlq' },
    starts_at: t0,
    ends_at: t0 + 300_000,
    value: 3,
  },
};

const deadLetter: DeadLetter = {
  original_topic: 'events.raw.v1',
  original_partition: 2,
  original_offset: 1234,
  original_timestamp: t0,
  original_key: Buffer.from('acc-000123'),
  original_value: Buffer.from([0, 0, 0, 0, 7, 1, 2, 3]),
  original_headers: [{ key: 'traceparent', value: Buffer.from('00-abc-def-01') }],
  failure_kind: 'schema-violation',
  error_class: 'SchemaViolationError',
  error_message: 'amount must be finite',
  stage: 'enrichment-api',
  attempts: 1,
  first_failure_time: t0,
  last_failure_time: t0,
  event_id: raw.event_id,
};

function sampleFor(topic: CatalogTopicName): unknown {
  return topic.endsWith('.dlq') ? deadLetter : samples[topic as TopicName];
}

// --- walking a value along its avsc Type ------------------------------------------------------------

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

function nonNullBranch(type: Type): Type | undefined {
  if (!(type instanceof avroTypes.UnwrappedUnionType)) return undefined;
  const branches = type.types.filter((t) => t.typeName !== 'null');
  return branches.length === 1 ? branches[0] : undefined;
}

/** Differences between the record fields of `type` and the keys of `value`, recursively. */
function shapeProblems(type: Type, value: unknown, path: string, out: string[] = []): string[] {
  const inner = nonNullBranch(type);
  if (inner) {
    if (value === null) out.push(`${path}: null, so its nested shape is untested (make the sample full)`);
    else shapeProblems(inner, value, path, out);
  } else if (type instanceof avroTypes.RecordType) {
    if (!isPlainObject(value)) return [...out, `${path}: expected an object`];
    const fields = type.fields.map((f) => f.name);
    const missing = fields.filter((f) => !(f in value));
    const extra = Object.keys(value).filter((k) => !fields.includes(k));
    out.push(...missing.map((f) => `${path}.${f}: in the schema, missing from the sample`));
    out.push(...extra.map((k) => `${path}.${k}: in the sample, not in the schema`));
    for (const f of type.fields) {
      if (f.name in value) shapeProblems(f.type, value[f.name], `${path}.${f.name}`, out);
    }
  } else if (type instanceof avroTypes.ArrayType) {
    if (!Array.isArray(value) || value.length === 0) out.push(`${path}: expected a non-empty array`);
    else {
      for (const [i, item] of value.entries()) shapeProblems(type.itemsType, item, `${path}[${i}]`, out);
    }
  } else if (type instanceof avroTypes.MapType) {
    if (!isPlainObject(value) || Object.keys(value).length === 0) out.push(`${path}: expected a non-empty map`);
    else for (const [k, v] of Object.entries(value)) shapeProblems(type.valuesType as Type, v, `${path}{${k}}`, out);
  }
  return out;
}

/** The sample with every nullable field (at any depth) set to null: the minimal valid record. */
function nullified(type: Type, value: unknown): unknown {
  if (nonNullBranch(type)) return null;
  if (type instanceof avroTypes.RecordType && isPlainObject(value)) {
    return Object.fromEntries(type.fields.map((f) => [f.name, nullified(f.type, value[f.name])]));
  }
  if (type instanceof avroTypes.ArrayType && Array.isArray(value)) {
    return value.map((v) => nullified(type.itemsType, v));
  }
  return value;
}

function validationErrors(type: Type, value: unknown): string[] {
  const errors: string[] = [];
  type.isValid(value, { errorHook: (path, v) => errors.push(`${path.join('.')}: invalid value ${JSON.stringify(v)}`) });
  return errors;
}

// --- tests --------------------------------------------------------------------------------------------

describe('TS types match the Avro schemas', () => {
  const specs = allTopicSpecs();

  it.each(specs.map((s) => [s.name]))('%s: sample has exactly the schema fields, at every depth', (topic) => {
    const type = avroTypeFor(topic);
    expect(shapeProblems(type, sampleFor(topic), type.name ?? topic)).toEqual([]);
  });

  it.each(specs.map((s) => [s.name]))('%s: full and all-null samples round-trip unchanged', (topic) => {
    const type = avroTypeFor(topic);
    for (const value of [sampleFor(topic), nullified(type, sampleFor(topic))]) {
      expect(validationErrors(type, value)).toEqual([]);
      const decoded = type.fromBuffer(type.toBuffer(value));
      // plain data on both sides: compare as plain objects (avsc decodes records into class instances)
      expect(JSON.parse(JSON.stringify(decoded))).toEqual(JSON.parse(JSON.stringify(value)));
    }
  });

  it('decodes timestamp-millis as numbers and bytes as Buffers (no logical types registered)', () => {
    const decoded = avroTypeFor(topics.eventsRaw).fromBuffer(avroTypeFor(topics.eventsRaw).toBuffer(raw));
    expect(typeof decoded.event_time).toBe('number');
    expect(decoded.event_time).toBe(t0);
    const dlq = avroTypeFor('events.raw.v1.dlq');
    const dl = dlq.fromBuffer(dlq.toBuffer(deadLetter));
    expect(Buffer.isBuffer(dl.original_value)).toBe(true);
    expect(dl.original_value.equals(deadLetter.original_value)).toBe(true);
  });

  it('TS enum constants list the Avro enum symbols in order', () => {
    const symbols = (topic: string, path: string[]): unknown => {
      let node: unknown = schemaFor(topic);
      for (const field of path) {
        const fields = (node as { fields: Array<{ name: string; type: unknown }> }).fields;
        node = fields.find((f) => f.name === field)?.type;
        if (Array.isArray(node)) node = node.find((b) => b !== 'null');
      }
      return (node as { symbols: string[] }).symbols;
    };
    expect(symbols(topics.eventsRaw, ['channel'])).toEqual(CHANNELS);
    expect(symbols(topics.referenceMerchants, ['risk_tier'])).toEqual(RISK_TIERS);
    expect(symbols(topics.eventsEnriched, ['merchant_risk_tier'])).toEqual(RISK_TIERS);
    expect(symbols(topics.predictions, ['decision'])).toEqual(DECISIONS);
    expect(symbols(topics.modelsLifecycle, ['change'])).toEqual(MODEL_CHANGES);
    expect(symbols(topics.modelsLifecycle, ['from_stage'])).toEqual(MODEL_STAGES);
    expect(symbols(topics.modelsRetrainRequested, ['reason'])).toEqual(RETRAIN_REASONS);
    expect(symbols(topics.alerts, ['status'])).toEqual(ALERT_STATUSES);
  });

  it('rejects a sample that misses a schema field (the check has teeth)', () => {
    const { device_id: _dropped, ...incomplete } = raw;
    const problems = shapeProblems(avroTypeFor(topics.eventsRaw), incomplete, 'RawEvent');
    expect(problems).toEqual(['RawEvent.device_id: in the schema, missing from the sample']);
  });

  it('maps every topic to a value type', () => {
    expectTypeOf<keyof TopicValueMap>().toEqualTypeOf<TopicName>();
    expectTypeOf<TopicValue<'features.vectors.v1.dlq'>>().toEqualTypeOf<DeadLetter>();
  });
});
