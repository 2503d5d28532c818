import { randomUUID } from 'node:crypto';
import { type RetrainRequested, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { seededRandom } from '@flywheel/ml';
import { registerTrainedModel } from '@flywheel/testing';

export const MODEL_NAME = 'payments-fraud';
/** Features of the live vectors the demo model reads (names of libs/features' payments-fraud set). */
export const MODEL_FEATURES = ['amount_base', 'amount_count_1h', 'amount_sum_1h', 'hour_of_day'];

/** Fraud ⇔ (mostly) a large amount: a pattern both the demo model and the trainer can learn. */
const isFraud = (amount: number, random: () => number) => random() < (amount > 300 ? 0.8 : 0.05);

/** Trains a tiny model on synthetic rows, registers it with baselines and promotes it to Production. */
export async function registerProductionModel(registryUrl: string, token: string): Promise<void> {
  const random = seededRandom(5);
  const rows = Array.from({ length: 600 }, () => {
    const count = 1 + Math.floor(random() * 6);
    const amount = Math.floor(random() * 2000) / 4;
    return { amount_base: amount, amount_count_1h: count, amount_sum_1h: count * amount, hour_of_day: random() * 24 };
  });
  const labels = rows.map((r) => (isFraud(r.amount_base, random) ? 1 : 0));
  await registerTrainedModel({
    registryUrl,
    adminToken: token,
    actor: 'observability-test',
    modelName: MODEL_NAME,
    featureNames: MODEL_FEATURES,
    rows,
    labels,
    baselineScores: labels.map((l, i) => (l ? 0.6 : 0.1) + (i % 10) / 40),
    seed: 5,
    epochs: 3,
    threshold: 0.6,
    reviewThreshold: 0.3,
    auc: 0.8,
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
  const random = seededRandom(9);
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
