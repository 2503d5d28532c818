import { randomUUID } from 'node:crypto';
import { type RetrainRequested, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { paymentsFraud } from '@flywheel/features';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { initBackend, quantileHistogram, serializeBundle, trainFraudModel } from '@flywheel/ml';

export const MODEL_NAME = 'payments-fraud';
/** Features of the live vectors the demo model reads (names of libs/features' payments-fraud set). */
export const MODEL_FEATURES = ['amount_base', 'amount_count_1h', 'amount_sum_1h', 'hour_of_day'];

/** Deterministic pseudo-random numbers, so a run is reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fraud ⇔ (mostly) a large amount: a pattern both the demo model and the trainer can learn. */
const isFraud = (amount: number, random: () => number) => random() < (amount > 300 ? 0.8 : 0.05);

async function registryCall(registryUrl: string, token: string, method: string, path: string, body: Buffer | object) {
  const binary = Buffer.isBuffer(body);
  const response = await fetch(`${registryUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-registry-actor': 'observability-test',
      'content-type': binary ? 'application/octet-stream' : 'application/json',
    },
    body: binary ? new Uint8Array(body) : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`registry ${method} ${path} answered ${response.status}: ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Trains a tiny model on synthetic rows, registers it with baselines and promotes it to Production. */
export async function registerProductionModel(registryUrl: string, token: string): Promise<void> {
  await initBackend('auto');
  const random = seeded(5);
  const rows = Array.from({ length: 600 }, () => {
    const count = 1 + Math.floor(random() * 6);
    const amount = Math.floor(random() * 2000) / 4;
    return { amount_base: amount, amount_count_1h: count, amount_sum_1h: count * amount, hour_of_day: random() * 24 };
  });
  const labels = rows.map((r) => (isFraud(r.amount_base, random) ? 1 : 0));
  const trained = await trainFraudModel({ rows, labels }, { featureNames: MODEL_FEATURES, seed: 5, epochs: 3 });
  const bundle = await serializeBundle(trained.model, trained.spec, {
    feature_set_version: paymentsFraud.version,
    threshold: 0.6,
    review_threshold: 0.3,
    model_name: MODEL_NAME,
  });
  await registryCall(registryUrl, token, 'PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes);
  const version = await registryCall(registryUrl, token, 'POST', `/v1/models/${MODEL_NAME}/versions`, {
    artifact_sha256: bundle.sha256,
    feature_set_version: paymentsFraud.version,
    feature_names: trained.spec.feature_names,
    metrics: { auc: 0.8 },
    baseline: {
      features: MODEL_FEATURES.map((name) =>
        quantileHistogram(
          name,
          rows.map((r) => r[name as keyof typeof r]),
          10,
        ),
      ),
      score: quantileHistogram(
        'score',
        labels.map((l, i) => (l ? 0.6 : 0.1) + (i % 10) / 40),
        10,
      ),
    },
    training_window_start: Date.now() - 86_400_000,
    training_window_end: Date.now(),
    run_id: randomUUID(),
  });
  await registryCall(registryUrl, token, 'POST', `/v1/models/${MODEL_NAME}/versions/${version.version}/stage`, {
    stage: 'Production',
  });
}

export interface LoadResult {
  accepted: number;
  rejected: number;
  statuses: number[];
  /** What was sent: collector-valid items (transactions, labels, amount-rule poison) and collector poison. */
  sent: { valid: number; invalid: number };
}

/**
 * Card transactions through the collector's HTTP API, each followed (in the next request) by its label, plus
 * the kinds of bad input the mesh must dead-letter: events the collector rejects (schema violations) and events
 * the enrichment-api rejects (amount above its limit). Event times lie in the last minutes, one second apart.
 */
export async function sendLoad(collectorUrl: string, apiKey: string, transactions: number): Promise<LoadResult> {
  const random = seeded(9);
  const start = Date.now() - transactions * 1_000;
  const result: LoadResult = { accepted: 0, rejected: 0, statuses: [], sent: { valid: 0, invalid: 0 } };
  let pendingLabels: Array<Record<string, unknown>> = [];
  const post = async (events: Array<Record<string, unknown>>) => {
    const response = await fetch(`${collectorUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify(events),
    });
    const body = (await response.json()) as { accepted?: number; rejected?: number };
    result.sent.valid += events.filter((e) => !('amount' in e) || typeof e.amount === 'number').length;
    result.sent.invalid += events.filter((e) => 'amount' in e && typeof e.amount !== 'number').length;
    result.statuses.push(response.status);
    result.accepted += body.accepted ?? 0;
    result.rejected += body.rejected ?? 0;
  };
  for (let i = 0; i < transactions; i += 50) {
    const batch: Array<Record<string, unknown>> = [...pendingLabels];
    pendingLabels = [];
    for (let j = i; j < Math.min(i + 50, transactions); j++) {
      const amount = Math.floor(random() * 2000) / 4;
      const event_id = randomUUID();
      const account_id = `acct-${j % 40}`;
      const event_time = start + j * 1_000;
      batch.push({
        type: 'transaction',
        event_id,
        event_time,
        account_id,
        merchant_id: `m-${j % 15}`,
        amount,
        currency: 'EUR',
        channel: (['pos', 'ecom', 'atm'] as const)[j % 3],
        card_present: j % 2 === 0,
      });
      pendingLabels.push({
        type: 'label',
        event_id,
        account_id,
        is_fraud: isFraud(amount, random),
        label_time: event_time + 500,
      });
    }
    // poison for the collector (422 for these items, the rest accepted) and for the enrichment-api's amount rule
    batch.push({ type: 'transaction', account_id: 'acct-bad', amount: 'not a number' });
    batch.push({
      type: 'transaction',
      event_time: Date.now() - 1_000,
      account_id: 'acct-rich',
      merchant_id: 'm-1',
      amount: 50_000_000,
      currency: 'EUR',
      channel: 'ecom',
      card_present: false,
    });
    await post(batch);
  }
  if (pendingLabels.length > 0) await post(pendingLabels);
  return result;
}

/** A retrain request (reason MANUAL, as a person would send one) straight onto the trainer's topic. */
export async function requestRetrain(brokers: string, registryUrl: string, prefix: string): Promise<void> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'observability-test' });
  const producer = new FlywheelProducer(kafka, AvroSerde.connect(registryUrl, schemaFor));
  await producer.connect();
  try {
    const request: RetrainRequested = {
      request_id: randomUUID(),
      model_name: MODEL_NAME,
      model_version: 1,
      requested_at: Date.now(),
      requested_by: 'observability-test',
      reason: 'MANUAL',
      evidence: [],
    };
    await producer.send(withPrefix(prefix, topics.modelsRetrainRequested), [{ key: MODEL_NAME, value: request }]);
  } finally {
    await producer.disconnect();
  }
}
