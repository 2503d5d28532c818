import { describe, expect, it } from 'vitest';
import { RetrainCoalescer } from './retrain-coalescer';

const request = (reason: 'DRIFT' | 'QUALITY' | 'MANUAL' | 'SCHEDULE', model_version = 3) => ({
  model_name: 'fraud',
  model_version,
  reason,
});

describe('RetrainCoalescer', () => {
  it('answers a second automatic request for the same served version with the earlier run, within the window', () => {
    const coalescer = new RetrainCoalescer(60_000);
    expect(coalescer.earlier(request('DRIFT'), 1_000)).toBeUndefined();
    coalescer.trainedFrom(request('DRIFT'), { requestId: 'r1', runId: 'run1', at: 1_000 });
    expect(coalescer.earlier(request('QUALITY'), 30_000)).toEqual({ requestId: 'r1', runId: 'run1', at: 1_000 });
    expect(coalescer.earlier(request('DRIFT'), 60_999)).toBeDefined();
    expect(coalescer.earlier(request('DRIFT'), 61_000)).toBeUndefined();
  });

  it('never coalesces manual or scheduled requests, another version, or with the window off', () => {
    const coalescer = new RetrainCoalescer(60_000);
    coalescer.trainedFrom(request('DRIFT'), { requestId: 'r1', runId: 'run1', at: 0 });
    expect(coalescer.earlier(request('MANUAL'), 1)).toBeUndefined();
    expect(coalescer.earlier(request('SCHEDULE'), 1)).toBeUndefined();
    expect(coalescer.earlier(request('DRIFT', 4), 1)).toBeUndefined();
    const off = new RetrainCoalescer(0);
    off.trainedFrom(request('DRIFT'), { requestId: 'r1', runId: 'run1', at: 0 });
    expect(off.earlier(request('DRIFT'), 1)).toBeUndefined();
  });
});
