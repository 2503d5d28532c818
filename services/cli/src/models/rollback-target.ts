import type { HistoryEntry } from './registry-api';

/**
 * The version to roll back to: the newest version that LEFT Production (it was replaced or moved out) and is not
 * the one serving now. Undefined when no other version was ever in Production. Rolling back twice therefore goes
 * back and forth between the last two Production versions, like `git checkout -`.
 */
export function rollbackTarget(history: readonly HistoryEntry[], productionVersion: number | null): number | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i];
    if (entry.change !== 'STAGE_CHANGED' || entry.from_stage !== 'Production' || entry.to_stage === 'Production')
      continue;
    if (entry.version !== productionVersion) return entry.version;
  }
  return undefined;
}
