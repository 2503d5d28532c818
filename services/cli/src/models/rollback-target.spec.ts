import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from './registry-api';
import { rollbackTarget } from './rollback-target';

let seq = 0;
function stage(version: number, from: HistoryEntry['from_stage'], to: HistoryEntry['to_stage']): HistoryEntry {
  return {
    change_id: `c${++seq}`,
    version,
    change: 'STAGE_CHANGED',
    alias: null,
    from_stage: from,
    to_stage: to,
    actor: 'admin',
    reason: null,
    changed_at: seq,
  };
}
const champion = (version: number): HistoryEntry => ({
  ...stage(version, 'Staging', 'Production'),
  change: 'ALIAS_SET',
});

describe('rollbackTarget', () => {
  it('is the version that Production replaced last', () => {
    const history = [
      stage(1, 'None', 'Production'),
      champion(1),
      stage(1, 'Production', 'Archived'),
      stage(2, 'Staging', 'Production'),
      champion(2),
    ];
    expect(rollbackTarget(history, 2)).toBe(1);
  });

  it('goes back and forth on repeated rollbacks, and skips the serving version', () => {
    const history = [
      stage(1, 'None', 'Production'),
      stage(1, 'Production', 'Archived'),
      stage(2, 'Staging', 'Production'),
      stage(2, 'Production', 'Archived'),
      stage(1, 'Archived', 'Production'),
    ];
    expect(rollbackTarget(history, 1)).toBe(2);
    // v3 promoted over v1 and v1 demoted: back to v1, not to v2
    history.push(stage(1, 'Production', 'Archived'), stage(3, 'Staging', 'Production'));
    expect(rollbackTarget(history, 3)).toBe(1);
  });

  it('is undefined when nothing else was ever in Production', () => {
    expect(rollbackTarget([stage(1, 'None', 'Production')], 1)).toBeUndefined();
    expect(rollbackTarget([], null)).toBeUndefined();
  });

  it('with nothing in Production now, is the version that left it last', () => {
    expect(rollbackTarget([stage(4, 'None', 'Production'), stage(4, 'Production', 'Archived')], null)).toBe(4);
  });
});
