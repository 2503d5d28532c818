import type { DeadLetter } from '@flywheel/contracts';
import { waitUntil } from '../wait-until';
import type { LoadGenerator } from './load-generator';
import type { MeshView } from './mesh-view';

/** One injected fault: when it began and when the harness undid it (restart returned, SIGCONT sent, …). */
export interface FaultRecord {
  fault: string;
  injectedAt: number;
  healedAt: number;
}

export interface FaultRecovery extends FaultRecord {
  /** From the heal to the first 2xx of a request sent after it. */
  ingestBackMs: number | null;
  /** From the heal until every event acknowledged before it had its prediction (0: nothing was waiting). */
  drainedMs: number | null;
}

export interface Reconciliation {
  scenario: string;
  acknowledged: number;
  /** Acknowledged events with at least one prediction. */
  predicted: number;
  /** Acknowledged events without a prediction (must be none). */
  lost: string[];
  predictionRecords: number;
  /** Prediction records beyond the first per event_id (the at-least-once repeats dedupe removes). */
  duplicatesRemoved: number;
  /** Predicted events the producer never got a 2xx for (a 503'd or unanswered request that landed anyway). */
  unacknowledgedPredicted: number;
  /** Dead letters of this scenario by `topic kind` (the load has no poison: every one is caused by a fault). */
  deadLetters: Record<string, number>;
  /** Non-2xx answers (0 = no answer) the producer saw, by status. */
  producerErrors: Record<string, number>;
  abandonedEvents: number;
  requests: number;
  recoveries: FaultRecovery[];
  /** Largest acknowledgement → prediction delay of any event (ms). */
  maxLatencyMs: number;
  elapsedMs: number;
}

/**
 * After the load stopped: waits (bounded) until every acknowledged event has a prediction and every watcher has
 * read its topics to the end, then counts — lost, duplicates, dead letters, producer errors — and derives the
 * recovery time of each fault from when predictions arrived. Only this scenario's events count (the mesh is shared
 * by the files of the suite): its generator's event_ids, and dead letters that first failed after it started.
 */
export async function reconcile(
  scenario: string,
  mesh: MeshView,
  load: LoadGenerator,
  faults: FaultRecord[],
  options: { startedAt: number; timeoutMs?: number } = { startedAt: Date.now() },
): Promise<Reconciliation> {
  const acknowledged = load.acknowledged;
  const ours = load.generated;
  const firstPrediction = (): Map<string, number> => {
    const first = new Map<string, number>();
    for (const p of mesh.predictions.values()) {
      if (ours.has(p.value.event_id) && !first.has(p.value.event_id)) first.set(p.value.event_id, p.receivedAt);
    }
    return first;
  };
  await waitUntil(
    () => {
      const first = firstPrediction();
      for (const id of acknowledged.keys()) if (!first.has(id)) return false;
      return true;
    },
    { timeoutMs: options.timeoutMs ?? 90_000, intervalMs: 500, message: 'every acknowledged event predicted' },
  ).catch(() => undefined); // what is missing then is reported as lost, below
  // Read predictions.v1 (and the other watched topics) to their ends, so the counts are complete.
  for (const watcher of [mesh.predictions, mesh.deadLetters, mesh.vectors, mesh.enriched]) {
    await waitUntil(() => watcher.caughtUp(), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: `watcher of ${watcher.topics.join(', ')} read to the end`,
    });
  }

  const first = firstPrediction();
  const records = mesh.predictions.values().filter((p) => ours.has(p.value.event_id));
  const lost = [...acknowledged.keys()].filter((id) => !first.has(id));
  const deadLetters: Record<string, number> = {};
  for (const record of mesh.deadLetters.records) {
    const letter = record.value;
    if (!(letter instanceof Error) && letter.first_failure_time < options.startedAt) continue;
    const key =
      record.value instanceof Error
        ? `${record.topic} undecodable`
        : `${(record.value as DeadLetter).original_topic.slice(mesh.prefix.length)} ${(record.value as DeadLetter).failure_kind}`;
    deadLetters[key] = (deadLetters[key] ?? 0) + 1;
  }
  let maxLatencyMs = 0;
  for (const [id, ackedAt] of acknowledged) {
    const at = first.get(id);
    if (at !== undefined) maxLatencyMs = Math.max(maxLatencyMs, at - ackedAt);
  }
  const recoveries = faults.map((fault): FaultRecovery => {
    const after = load.requests.find((r) => r.started >= fault.healedAt && r.status >= 200 && r.status < 300);
    let drainedAt = fault.healedAt;
    let complete = true;
    for (const [id, ackedAt] of acknowledged) {
      if (ackedAt > fault.healedAt) continue;
      const at = first.get(id);
      if (at === undefined) complete = false;
      else drainedAt = Math.max(drainedAt, at);
    }
    return {
      ...fault,
      ingestBackMs: after ? after.ended - fault.healedAt : null,
      drainedMs: complete ? drainedAt - fault.healedAt : null,
    };
  });
  return {
    scenario,
    acknowledged: acknowledged.size,
    predicted: acknowledged.size - lost.length,
    lost,
    predictionRecords: records.length,
    duplicatesRemoved: records.length - first.size,
    unacknowledgedPredicted: [...first.keys()].filter((id) => !acknowledged.has(id)).length,
    deadLetters,
    producerErrors: load.errorsByStatus(),
    abandonedEvents: load.abandonedEvents,
    requests: load.requests.length,
    recoveries,
    maxLatencyMs,
    elapsedMs: Date.now() - options.startedAt,
  };
}

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
const entries = (counts: Record<string, number>) =>
  Object.keys(counts).length === 0
    ? '0'
    : Object.entries(counts)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');

/** The scenario's figures as a printable table (faults, then counts). */
export function formatReconciliation(r: Reconciliation): string {
  const lines = [
    `== fault scenario: ${r.scenario} (${seconds(r.elapsedMs)})`,
    '| fault | injected → healed | ingest back after | backlog drained after |',
    '|---|---|---|---|',
    ...r.recoveries.map(
      (f) =>
        `| ${f.fault} | ${seconds(f.healedAt - f.injectedAt)} | ${seconds(f.ingestBackMs)} | ${seconds(f.drainedMs)} |`,
    ),
    '',
    '| acknowledged | predicted | lost | duplicates removed | predicted, never acknowledged | DLQ records | producer errors (status: n) | abandoned | max ack→prediction |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${r.acknowledged} | ${r.predicted} | ${r.lost.length} | ${r.duplicatesRemoved} | ${r.unacknowledgedPredicted} | ${entries(r.deadLetters)} | ${entries(r.producerErrors)} | ${r.abandonedEvents} | ${seconds(r.maxLatencyMs)} |`,
  ];
  return lines.join('\n');
}
