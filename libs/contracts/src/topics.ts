/**
 * The topic catalog: every Kafka topic of the mesh, what its key is, which Avro record its values are,
 * how it is retained, who writes and who reads it, and where its poison messages go.
 *
 * Names are fixed constants. Tests and side-by-side deployments isolate themselves by prepending a prefix
 * (`withPrefix`, `ensureTopics({ prefix })`) rather than by editing names; `baseTopic` maps a prefixed
 * name back to its catalog entry.
 *
 * Keys are plain UTF-8 strings (not Avro): partitioning must not depend on schema ids, and every consumer
 * can read a key without the registry.
 */

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** `retention.ms` value meaning "keep forever" (compacted topics). */
export const RETAIN_FOREVER = -1;

export const DLQ_SUFFIX = '.dlq';
export const DLQ_RETENTION_MS = 14 * DAY_MS;
export const DLQ_PARTITIONS = 1;

/** Topics the mesh's data flows through. Name pattern `<domain>.<entity>[.<event>].v<N>`. */
export const topics = {
  eventsRaw: 'events.raw.v1',
  eventsEnriched: 'events.enriched.v1',
  labels: 'labels.v1',
  referenceAccounts: 'reference.accounts.v1',
  referenceMerchants: 'reference.merchants.v1',
  featureVectors: 'features.vectors.v1',
  predictions: 'predictions.v1',
  predictionsShadow: 'predictions.shadow.v1',
  predictionsBatch: 'predictions.batch.v1',
  modelsLifecycle: 'models.lifecycle.v1',
  modelsTrained: 'models.trained.v1',
  modelsRetrainRequested: 'models.retrain-requested.v1',
  modelsTrainRefused: 'models.train-refused.v1',
  monitorDrift: 'monitor.drift.v1',
  alerts: 'alerts.v1',
} as const;

export type TopicKey = keyof typeof topics;
/** A (non-DLQ) topic of the catalog. */
export type TopicName = (typeof topics)[TopicKey];
export type DlqTopicName = `${TopicName}${typeof DLQ_SUFFIX}`;
/** Any topic of the catalog, DLQs included. */
export type CatalogTopicName = TopicName | DlqTopicName;

/** Dead-letter topics, one per topic: `dlqTopics.eventsRaw === 'events.raw.v1.dlq'`. */
export const dlqTopics = Object.freeze(
  Object.fromEntries(Object.entries(topics).map(([k, name]) => [k, `${name}${DLQ_SUFFIX}`])),
) as { readonly [K in TopicKey]: `${(typeof topics)[K]}${typeof DLQ_SUFFIX}` };

/** Services of the mesh (services/<name>), plus the external writers that feed it. */
export type Participant =
  | 'collector'
  | 'enrichment-api'
  | 'feature-materializer'
  | 'stream-inference'
  | 'registry'
  | 'monitor'
  | 'trainer'
  | 'dead-letter-alerter'
  | 'batch-scorer'
  | 'label-feed'
  | 'operator';

export type CleanupPolicy = 'delete' | 'compact';

export interface TopicSpec {
  readonly name: CatalogTopicName;
  /** True for `<topic>.dlq` entries. */
  readonly isDlq: boolean;
  /** File under libs/contracts/schemas/ holding the value schema. */
  readonly valueSchema: string;
  /** Full name of the value record in that file. */
  readonly valueRecord: string;
  /** What the message key is (a UTF-8 string). Records of one key stay in order on one partition. */
  readonly key: string;
  readonly partitions: number;
  readonly cleanupPolicy: CleanupPolicy;
  /** `retention.ms`; RETAIN_FOREVER (-1) for compacted topics. */
  readonly retentionMs: number;
  /** Where consumers of this topic dead-letter poison messages; null for DLQs themselves. */
  readonly dlq: DlqTopicName | null;
  readonly producers: readonly Participant[];
  readonly consumers: readonly Participant[];
  readonly description: string;
}

type BaseSpec = Omit<TopicSpec, 'name' | 'isDlq' | 'dlq'>;

const DATA_PARTITIONS = 6;
const REFERENCE_PARTITIONS = 3;
/** Control-plane topics are tiny; one partition gives one global order per topic. */
const CONTROL_PARTITIONS = 1;

const base: { readonly [K in TopicKey]: BaseSpec } = {
  eventsRaw: {
    valueSchema: 'raw-event.avsc',
    valueRecord: 'io.flywheel.payments.RawEvent',
    key: 'account_id',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['collector'],
    consumers: ['enrichment-api'],
    description: 'Transactions as producers sent them, stamped by the collector (acked before the HTTP 2xx).',
  },
  eventsEnriched: {
    valueSchema: 'enriched-event.avsc',
    valueRecord: 'io.flywheel.payments.EnrichedEvent',
    key: 'account_id',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['enrichment-api'],
    consumers: ['feature-materializer'],
    description: 'Raw events joined with account/merchant reference data, plus derived fields.',
  },
  labels: {
    valueSchema: 'label.avsc',
    valueRecord: 'io.flywheel.payments.Label',
    key: 'account_id',
    // co-partitioned with the event topics so an entity's labels and events meet on one partition
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    // chargebacks arrive weeks late; keep long enough for a consumer that was down to catch up
    retentionMs: 30 * DAY_MS,
    producers: ['label-feed'],
    consumers: ['feature-materializer', 'monitor'],
    description: 'Delayed ground truth (chargebacks, fraud reports) for transactions, by event_id.',
  },
  referenceAccounts: {
    valueSchema: 'account.avsc',
    valueRecord: 'io.flywheel.payments.Account',
    key: 'account_id',
    partitions: REFERENCE_PARTITIONS,
    cleanupPolicy: 'compact',
    retentionMs: RETAIN_FOREVER,
    producers: ['enrichment-api', 'operator'],
    consumers: ['enrichment-api'],
    description:
      'Account reference data, latest state per account (null value = delete). Written on every reference-data change or bulk load; read from the start to rebuild a cache.',
  },
  referenceMerchants: {
    valueSchema: 'merchant.avsc',
    valueRecord: 'io.flywheel.payments.Merchant',
    key: 'merchant_id',
    partitions: REFERENCE_PARTITIONS,
    cleanupPolicy: 'compact',
    retentionMs: RETAIN_FOREVER,
    producers: ['enrichment-api', 'operator'],
    consumers: ['enrichment-api'],
    description:
      'Merchant reference data, latest state per merchant (null value = delete). Written on every reference-data change or bulk load; read from the start to rebuild a cache.',
  },
  featureVectors: {
    valueSchema: 'feature-vector.avsc',
    valueRecord: 'io.flywheel.features.FeatureVector',
    key: 'entity (account_id)',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['feature-materializer'],
    consumers: ['stream-inference'],
    description: 'Point-in-time feature vectors, one per enriched event, as a name → value map.',
  },
  predictions: {
    valueSchema: 'prediction.avsc',
    valueRecord: 'io.flywheel.inference.Prediction',
    key: 'entity (account_id)',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['stream-inference'],
    consumers: ['monitor'],
    description: 'Scores and decisions of the serving (Production) model; each names its model version.',
  },
  predictionsShadow: {
    valueSchema: 'prediction.avsc',
    valueRecord: 'io.flywheel.inference.Prediction',
    key: 'entity (account_id)',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 3 * DAY_MS,
    producers: ['stream-inference'],
    consumers: ['monitor'],
    description: 'Scores of a shadow model on the same events (same record as predictions.v1); never acted on.',
  },
  predictionsBatch: {
    valueSchema: 'prediction.avsc',
    valueRecord: 'io.flywheel.inference.Prediction',
    key: 'entity (account_id)',
    partitions: DATA_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 7 * DAY_MS,
    producers: ['batch-scorer'],
    consumers: [],
    description:
      'Scores of the offline feature log by a batch run (score-batch --to-topic; same record as predictions.v1). Kept apart from predictions.v1 so a backfill never enters the live drift window.',
  },
  modelsLifecycle: {
    valueSchema: 'model-lifecycle.avsc',
    valueRecord: 'io.flywheel.models.ModelLifecycle',
    key: 'model_name',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'compact',
    retentionMs: RETAIN_FOREVER,
    producers: ['registry'],
    consumers: ['stream-inference', 'monitor'],
    description:
      "Registry changes (deploy hook). Each record carries the model's full current state, so reading from the start rebuilds what is in Production.",
  },
  modelsTrained: {
    valueSchema: 'model-trained.avsc',
    valueRecord: 'io.flywheel.models.ModelTrained',
    key: 'model_name',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    producers: ['trainer'],
    consumers: ['registry'],
    description: 'Finished training runs: artifact reference, metrics, baseline histograms. Registry registers them.',
  },
  modelsRetrainRequested: {
    valueSchema: 'retrain-requested.avsc',
    valueRecord: 'io.flywheel.models.RetrainRequested',
    key: 'model_name',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    producers: ['monitor', 'operator'],
    consumers: ['trainer'],
    description: 'Requests to retrain a model (sustained drift, quality loss, manual, schedule) with evidence.',
  },
  modelsTrainRefused: {
    valueSchema: 'train-refused.avsc',
    valueRecord: 'io.flywheel.models.TrainRefused',
    key: 'model_name',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    producers: ['trainer'],
    consumers: ['monitor'],
    description: 'Retrain requests the trainer declined, with the reason (too few rows/positives, …).',
  },
  monitorDrift: {
    valueSchema: 'drift-report.avsc',
    valueRecord: 'io.flywheel.monitor.DriftReport',
    key: 'model_name',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    producers: ['monitor'],
    consumers: [],
    description: 'Every drift evaluation (per-feature PSI/KS, score drift, live quality), drifted or not.',
  },
  alerts: {
    valueSchema: 'alert.avsc',
    valueRecord: 'io.flywheel.ops.Alert',
    key: 'fingerprint',
    partitions: CONTROL_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: 30 * DAY_MS,
    producers: ['dead-letter-alerter'],
    consumers: [],
    description: 'Alert state changes (FIRING/RESOLVED), also sent to the webhook.',
  },
};

/** DLQ name of a topic (works on prefixed names too). A DLQ has no DLQ of its own. */
export function dlqTopicFor<T extends string>(topic: T): `${T}${typeof DLQ_SUFFIX}` {
  if (topic.endsWith(DLQ_SUFFIX)) throw new Error(`${topic} is a dead-letter topic; a DLQ has no DLQ`);
  return `${topic}${DLQ_SUFFIX}`;
}

export function isDlqTopic(topic: string): boolean {
  return topic.endsWith(DLQ_SUFFIX);
}

function dlqSpec(source: TopicName): TopicSpec {
  return {
    name: dlqTopicFor(source),
    isDlq: true,
    valueSchema: 'dead-letter.avsc',
    valueRecord: 'io.flywheel.ops.DeadLetter',
    key: `original key of ${source}`,
    // a DLQ is low-volume by construction; one partition keeps browse/replay in one global order
    partitions: DLQ_PARTITIONS,
    cleanupPolicy: 'delete',
    retentionMs: DLQ_RETENTION_MS,
    dlq: null,
    producers: [],
    consumers: ['dead-letter-alerter'],
    description: `Messages of ${source} that could not be processed, with original bytes and error; replayable.`,
  };
}

function buildCatalog(): Readonly<Record<CatalogTopicName, TopicSpec>> {
  const out = {} as Record<CatalogTopicName, TopicSpec>;
  for (const key of Object.keys(topics) as TopicKey[]) {
    const name = topics[key];
    const spec: TopicSpec = { name, isDlq: false, dlq: dlqTopicFor(name), ...base[key] };
    const dlq = dlqSpec(name);
    // whoever consumes a topic dead-letters into its DLQ; the collector also dead-letters rejected input
    const dlqProducers = new Set<Participant>(spec.consumers);
    if (name === topics.eventsRaw) dlqProducers.add('collector');
    out[name] = Object.freeze(spec);
    out[dlq.name] = Object.freeze({ ...dlq, producers: [...dlqProducers] });
  }
  return Object.freeze(out);
}

/** Every topic, DLQs included, by name. Source topics first, each followed by its DLQ. */
export const topicCatalog: Readonly<Record<CatalogTopicName, TopicSpec>> = buildCatalog();

/** All catalog entries in catalog order. */
export function allTopicSpecs(): readonly TopicSpec[] {
  return Object.values(topicCatalog);
}

export function isCatalogTopic(name: string): name is CatalogTopicName {
  return Object.hasOwn(topicCatalog, name);
}

/**
 * Maps a possibly prefixed topic name (`t-1a2b.events.raw.v1`) to its catalog name (`events.raw.v1`):
 * an exact match, else the longest catalog name the given name ends with after a `.`, `-` or `_`.
 * Returns undefined for a topic the catalog does not know.
 */
export function baseTopic(name: string): CatalogTopicName | undefined {
  if (isCatalogTopic(name)) return name;
  let best: CatalogTopicName | undefined;
  for (const candidate of Object.keys(topicCatalog) as CatalogTopicName[]) {
    if (!name.endsWith(candidate)) continue;
    const boundary = name[name.length - candidate.length - 1];
    if (boundary !== '.' && boundary !== '-' && boundary !== '_') continue;
    if (!best || candidate.length > best.length) best = candidate;
  }
  return best;
}

/** Catalog entry of a topic, prefixed names accepted; throws for an unknown topic. */
export function topicSpec(name: string): TopicSpec {
  const found = baseTopic(name);
  if (!found) throw new Error(`unknown topic '${name}': not in the @flywheel/contracts topic catalog`);
  return topicCatalog[found];
}

/** Prefixed topic name for tests and side-by-side deployments; the prefix is prepended verbatim. */
export function withPrefix<T extends string>(prefix: string | undefined, topic: T): string {
  return prefix ? `${prefix}${topic}` : topic;
}
