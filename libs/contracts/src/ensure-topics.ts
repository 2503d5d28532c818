/**
 * Idempotent topic creation from the catalog. Used by the create-topics CLI and by the test harness
 * (which passes a unique prefix per test run).
 *
 * Only `import type` from kafkajs: importing @flywheel/contracts must not load a Kafka client.
 */

import type { Admin, ITopicConfig } from 'kafkajs';
import { allTopicSpecs, type CatalogTopicName, isCatalogTopic, type TopicSpec, topicCatalog } from './topics';

/** kafkajs ConfigResourceTypes.TOPIC, inlined to keep kafkajs a type-only dependency. */
const RESOURCE_TYPE_TOPIC = 2;

/** Kafka's legal topic characters; a prefix must also end in a separator so baseTopic() can strip it. */
const PREFIX_PATTERN = /^[A-Za-z0-9._-]*[._-]$/;
const MAX_TOPIC_NAME_LENGTH = 249;

export interface EnsureTopicsLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface EnsureTopicsOptions {
  /** Prepended verbatim to every name, e.g. `t-3f9a.`; must end with `.`, `-` or `_`. */
  prefix?: string;
  /** Default 1 (single local broker); 3 in the docker-compose / production cluster. */
  replicationFactor?: number;
  /** Sets `min.insync.replicas` on created topics; broker default when omitted. Must be <= replicationFactor. */
  minInsyncReplicas?: number;
  /** Restrict to these catalog topics (unprefixed names). Default: the whole catalog. */
  only?: readonly CatalogTopicName[];
  /** With `only`: also ensure the DLQ of every listed topic. Default true. */
  withDlq?: boolean;
  /** Server-side timeout of the create request. Default 30 s. */
  timeoutMs?: number;
  logger?: EnsureTopicsLogger;
}

export interface EnsureTopicsResult {
  /** Topics this call created (prefixed names). */
  created: string[];
  /** Topics that already existed (prefixed names). */
  existing: string[];
  /** Differences between existing topics and the catalog that were left alone. */
  warnings: string[];
}

export class EnsureTopicsError extends Error {
  override readonly name = 'EnsureTopicsError';
}

const defaultLogger: EnsureTopicsLogger = {
  info: () => {},
  warn: (message) => console.warn(message),
};

/** Topic configs the catalog prescribes for a spec. */
export function topicConfigEntries(
  spec: TopicSpec,
  minInsyncReplicas?: number,
): Array<{ name: string; value: string }> {
  const entries = [
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    { name: 'retention.ms', value: String(spec.retentionMs) },
  ];
  if (minInsyncReplicas !== undefined) entries.push({ name: 'min.insync.replicas', value: String(minInsyncReplicas) });
  return entries;
}

function selectSpecs(only: readonly CatalogTopicName[] | undefined, withDlq: boolean): TopicSpec[] {
  if (!only) return [...allTopicSpecs()];
  const wanted = new Set<CatalogTopicName>();
  for (const name of only) {
    if (!isCatalogTopic(name)) throw new EnsureTopicsError(`'${name}' is not a catalog topic`);
    wanted.add(name);
    const dlq = topicCatalog[name].dlq;
    if (withDlq && dlq) wanted.add(dlq);
  }
  // keep catalog order so logs read the same every run
  return allTopicSpecs().filter((s) => wanted.has(s.name));
}

function validate(options: EnsureTopicsOptions): { prefix: string; replicationFactor: number } {
  const prefix = options.prefix ?? '';
  if (prefix && !PREFIX_PATTERN.test(prefix)) {
    throw new EnsureTopicsError(
      `topic prefix '${prefix}' is invalid: use only A-Z a-z 0-9 . _ - and end it with '.', '-' or '_'`,
    );
  }
  const longest = Math.max(...allTopicSpecs().map((s) => s.name.length));
  if (prefix.length + longest > MAX_TOPIC_NAME_LENGTH) {
    throw new EnsureTopicsError(`topic prefix '${prefix}' is too long: names would exceed ${MAX_TOPIC_NAME_LENGTH}`);
  }
  const replicationFactor = options.replicationFactor ?? 1;
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new EnsureTopicsError(`replication factor must be an integer >= 1, got ${replicationFactor}`);
  }
  const minIsr = options.minInsyncReplicas;
  if (minIsr !== undefined && (!Number.isInteger(minIsr) || minIsr < 1 || minIsr > replicationFactor)) {
    throw new EnsureTopicsError(
      `min.insync.replicas must be an integer in 1..${replicationFactor} (the replication factor), got ${minIsr}`,
    );
  }
  return { prefix, replicationFactor };
}

/**
 * Creates the catalog topics that do not exist yet, with the catalog's partitions, cleanup policy and
 * retention. Existing topics are never altered: fewer partitions or a different cleanup policy /
 * retention are reported as warnings (adding partitions remaps keys to partitions and breaks
 * per-entity order; changing cleanup.policy can delete data — both are a person's decision).
 * The admin client must be connected; it is left connected.
 */
export async function ensureTopics(admin: Admin, options: EnsureTopicsOptions = {}): Promise<EnsureTopicsResult> {
  const { prefix, replicationFactor } = validate(options);
  const logger = options.logger ?? defaultLogger;
  const specs = selectSpecs(options.only, options.withDlq ?? true);
  const named = specs.map((spec) => ({ spec, topic: `${prefix}${spec.name}` }));

  const present = new Set(await admin.listTopics());
  const missing = named.filter((t) => !present.has(t.topic));
  const existing = named.filter((t) => present.has(t.topic));
  const result: EnsureTopicsResult = { created: [], existing: existing.map((t) => t.topic), warnings: [] };

  if (missing.length > 0) {
    const configs: ITopicConfig[] = missing.map(({ spec, topic }) => ({
      topic,
      numPartitions: spec.partitions,
      replicationFactor,
      configEntries: topicConfigEntries(spec, options.minInsyncReplicas),
    }));
    const timeout = options.timeoutMs ?? 30_000;
    try {
      // false means another process created (some of) them first: still idempotent, nothing to do
      await admin.createTopics({ topics: configs, waitForLeaders: true, timeout });
    } catch (err) {
      // A broker that just started can answer kafkajs's leader wait for a topic it has just created with
      // UNKNOWN_TOPIC_OR_PARTITION (its metadata cache lags the controller) and kafkajs gives up: the topics
      // exist, so wait for their leaders here instead of failing the caller.
      const lagging = METADATA_LAG.test(String(err));
      if (
        !lagging ||
        !(await leadersElected(
          admin,
          configs.map((c) => c.topic),
          timeout,
        ))
      ) {
        throw new EnsureTopicsError(describeCreateError(err), { cause: err });
      }
    }
    for (const { spec, topic } of missing) {
      result.created.push(topic);
      logger.info(
        `created ${topic} (partitions=${spec.partitions}, rf=${replicationFactor}, cleanup.policy=${spec.cleanupPolicy}, retention.ms=${spec.retentionMs})`,
      );
    }
  }

  if (existing.length > 0) {
    result.warnings.push(...(await checkExisting(admin, existing)));
    for (const { topic } of existing) logger.info(`exists ${topic}`);
  }
  for (const warning of result.warnings) logger.warn(warning);
  return result;
}

/** What a broker answers about a topic its metadata cache does not know yet. */
const METADATA_LAG = /does not host this topic-partition/;

/** True once every partition of `names` has a leader, false if that takes longer than `timeoutMs`. */
async function leadersElected(admin: Admin, names: string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const ready = metadata.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (metadata.topics.length === names.length && ready) return true;
    } catch (err) {
      if (!METADATA_LAG.test(String(err))) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** kafkajs reports per-topic failures as an aggregate; group them so the message says what went wrong. */
function describeCreateError(err: unknown): string {
  const errors = (err as { errors?: Array<{ topic?: string; type?: string; message?: string }> }).errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    return `topic creation failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const byReason = new Map<string, string[]>();
  for (const e of errors) {
    if (e.type === 'TOPIC_ALREADY_EXISTS') continue;
    const reason = `${e.type ?? 'ERROR'}: ${e.message ?? 'unknown error'}`;
    byReason.set(reason, [...(byReason.get(reason) ?? []), e.topic ?? '?']);
  }
  const parts = [...byReason].map(([reason, names]) => {
    const shown = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
    return `${reason} (${shown})`;
  });
  return `topic creation failed: ${parts.join('; ')}`;
}

async function checkExisting(admin: Admin, existing: Array<{ spec: TopicSpec; topic: string }>): Promise<string[]> {
  const warnings: string[] = [];
  const metadata = await admin.fetchTopicMetadata({ topics: existing.map((t) => t.topic) });
  const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: existing.map((t) => ({
      type: RESOURCE_TYPE_TOPIC,
      name: t.topic,
      configNames: ['cleanup.policy', 'retention.ms'],
    })),
  });
  const configsOf = new Map(
    described.resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
    ]),
  );

  for (const { spec, topic } of existing) {
    const partitions = partitionsOf.get(topic);
    if (partitions !== undefined && partitions < spec.partitions) {
      warnings.push(
        `${topic} has ${partitions} partitions, the catalog wants ${spec.partitions}; left unchanged ` +
          '(adding partitions moves keys to other partitions and breaks per-key order — alter it by hand if intended)',
      );
    }
    const configs = configsOf.get(topic);
    const policy = configs?.get('cleanup.policy');
    if (policy !== undefined && policy !== spec.cleanupPolicy) {
      warnings.push(`${topic} has cleanup.policy=${policy}, the catalog wants ${spec.cleanupPolicy}; left unchanged`);
    }
    const retention = configs?.get('retention.ms');
    if (retention !== undefined && retention !== String(spec.retentionMs)) {
      warnings.push(`${topic} has retention.ms=${retention}, the catalog wants ${spec.retentionMs}; left unchanged`);
    }
  }
  return warnings;
}
