import type { RetrainReason } from '@flywheel/contracts';

/** Reasons that come from the monitor's detectors; MANUAL and SCHEDULE requests are always honoured. */
const AUTOMATIC: ReadonlySet<RetrainReason> = new Set(['DRIFT', 'QUALITY']);

export interface EarlierRetrain {
  requestId: string;
  runId: string;
  at: number;
}

/**
 * One drift seen by several of the monitor's detectors (input PSI, score KS, live AUC) gives up to one request
 * per detector kind, by design: no detector silences another. Training once per served version is enough, so
 * an automatic request for a model version this trainer has already retrained from (successfully) within
 * `windowMs` is answered with the earlier run instead of a second candidate. A refused run (too few labels)
 * does not count: the next request may find the data that was missing.
 */
export class RetrainCoalescer {
  private readonly trained = new Map<string, EarlierRetrain>();

  constructor(private readonly windowMs: number) {}

  /** The earlier successful retrain that makes this request redundant, if any. */
  earlier(
    request: { model_name: string; model_version: number; reason: RetrainReason },
    now: number,
  ): EarlierRetrain | undefined {
    if (this.windowMs <= 0 || !AUTOMATIC.has(request.reason)) return undefined;
    const earlier = this.trained.get(key(request));
    return earlier && now - earlier.at < this.windowMs ? earlier : undefined;
  }

  /** Records a successful retrain from `request`'s model version. */
  trainedFrom(request: { model_name: string; model_version: number }, run: EarlierRetrain): void {
    this.trained.set(key(request), run);
  }
}

function key(request: { model_name: string; model_version: number }): string {
  return `${request.model_name}@${request.model_version}`;
}
