import { describe, expect, it } from 'vitest';
import { loadTrainerConfig } from '../config';
import { windowForRequest } from './settings';

const evidence = (window_end: number) => ({
  detector: 'psi',
  feature: 'account_age_days',
  statistic: 'psi',
  value: 1,
  threshold: 0.1,
  window_start: window_end - 1_000,
  window_end,
  samples: 500,
});

describe('windowForRequest', () => {
  const env = { TRAINER_WINDOW_MS: '10000', TRAINER_WINDOW_END_OFFSET_MS: '500' };

  it('ends at requested_at by default, whatever the evidence says', () => {
    const config = loadTrainerConfig(env);
    expect(windowForRequest(config, { requested_at: 100_000, evidence: [evidence(60_000)] })).toEqual({
      from: 89_500,
      to: 99_500,
    });
  });

  it('with TRAINER_WINDOW_ANCHOR=evidence ends at the newest evidence window (never later than requested_at)', () => {
    const config = loadTrainerConfig({ ...env, TRAINER_WINDOW_ANCHOR: 'evidence' });
    // the monitor had seen event time up to 60 s while the wall clock said 100 s (a lagging pipeline)
    expect(windowForRequest(config, { requested_at: 100_000, evidence: [evidence(55_000), evidence(60_000)] })).toEqual(
      { from: 49_500, to: 59_500 },
    );
    expect(windowForRequest(config, { requested_at: 50_000, evidence: [evidence(60_000)] }).to).toBe(49_500);
    expect(windowForRequest(config, { requested_at: 100_000, evidence: [] }).to).toBe(99_500);
    expect(() => loadTrainerConfig({ TRAINER_WINDOW_ANCHOR: 'now' })).toThrow(/TRAINER_WINDOW_ANCHOR/);
  });
});
