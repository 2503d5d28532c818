import type { Decision } from '@flywheel/contracts';
import { decodeFloat8Array } from '@flywheel/database';
import { decide, type LoadedModelVersion, standardizeInto } from '@flywheel/ml';
import type { OfflineRow, RowKey } from '../source/offline-log.reader';

/** Why a row was not scored. */
export type SkipReason = 'feature-set-mismatch' | 'missing-feature' | 'non-finite-score';

/** One chunk's outcome: parallel columns of the scored rows, counts of the skipped ones. */
export interface ScoredChunk {
  /** Rows read (scored + skipped). */
  rows: number;
  eventIds: string[];
  eventTimes: number[];
  entities: string[];
  scores: number[];
  decisions: Decision[];
  skipped: Partial<Record<SkipReason, number>>;
  /** Feature-set versions of the mismatched rows, with their counts (for the log line). */
  otherVersions: Map<string, number>;
  /** The last row read: the checkpoint once this chunk is written. */
  last: RowKey;
}

/**
 * Scores the rows of one chunk with one model version: each row's features (already in model order) are
 * standardised by libs/ml straight into one reused row-major matrix, which libs/ml's Scorer predicts in
 * micro-batches of `microBatchRows` (one tensor each) — the same math and the same predict as
 * stream-inference, minus the object per row. Rows of another feature-set version, rows missing a
 * feature and rows the model scores as NaN are skipped and counted by reason, never written.
 */
export class ChunkScorer {
  private matrix = new Float32Array(0);
  private usable = new Int32Array(0);
  private readonly values: Float64Array;
  private readonly k: number;

  constructor(
    private readonly model: LoadedModelVersion,
    private readonly microBatchRows: number,
  ) {
    this.k = model.scorer.spec.feature_names.length;
    this.values = new Float64Array(this.k);
  }

  score(rows: readonly OfflineRow[]): ScoredChunk {
    if (rows.length === 0) throw new Error('an empty chunk has nothing to score');
    const { k, model } = this;
    const spec = model.scorer.spec;
    this.ensureCapacity(rows.length);
    const skipped: ScoredChunk['skipped'] = {};
    const otherVersions = new Map<string, number>();
    const skip = (reason: SkipReason) => {
      skipped[reason] = (skipped[reason] ?? 0) + 1;
    };
    let usableRows = 0;
    for (let i = 0; i < rows.length; i++) {
      const features = rows[i][4];
      if (features === null) {
        skip('feature-set-mismatch');
        const version = rows[i][3] ?? '(none)';
        otherVersions.set(version, (otherVersions.get(version) ?? 0) + 1);
        continue;
      }
      decodeFloat8Array(features, this.values);
      if (!standardizeInto(this.values, spec, this.matrix, usableRows)) {
        skip('missing-feature');
        continue;
      }
      this.usable[usableRows++] = i;
    }

    const out: ScoredChunk = {
      rows: rows.length,
      eventIds: [],
      eventTimes: [],
      entities: [],
      scores: [],
      decisions: [],
      skipped,
      otherVersions,
      last: { eventId: rows[rows.length - 1][0], eventTime: Number(rows[rows.length - 1][2]) },
    };
    const thresholds = { threshold: model.threshold, review_threshold: model.reviewThreshold };
    for (let start = 0; start < usableRows; start += this.microBatchRows) {
      const n = Math.min(this.microBatchRows, usableRows - start);
      const scores = model.scorer.scoreMatrix(this.matrix.subarray(start * k, (start + n) * k), n);
      for (let j = 0; j < n; j++) {
        const score = scores[j];
        if (!Number.isFinite(score)) {
          skip('non-finite-score');
          continue;
        }
        const row = rows[this.usable[start + j]];
        out.eventIds.push(row[0]);
        out.entities.push(row[1]);
        out.eventTimes.push(Number(row[2]));
        out.scores.push(score);
        out.decisions.push(decide(score, thresholds));
      }
    }
    return out;
  }

  private ensureCapacity(rows: number): void {
    if (this.usable.length >= rows) return;
    this.matrix = new Float32Array(rows * this.k);
    this.usable = new Int32Array(rows);
  }
}

/** Adds a chunk's skip counts into running totals. */
export function addSkipped(total: Record<string, number>, chunk: ScoredChunk['skipped']): void {
  for (const [reason, n] of Object.entries(chunk)) total[reason] = (total[reason] ?? 0) + (n ?? 0);
}

export function skippedCount(chunk: ScoredChunk): number {
  let n = 0;
  for (const v of Object.values(chunk.skipped)) n += v ?? 0;
  return n;
}
