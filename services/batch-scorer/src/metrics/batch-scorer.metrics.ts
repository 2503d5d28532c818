import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** batch-scorer's figures: progress (done/total, rows/s, ETA) and what happened to the rows. */
export class BatchScorerMetrics {
  /** Rows scored and written by this process (resumed rows are in rowsDone, not here). */
  readonly rowsScored: Counter;
  readonly rowsSkipped: Counter<'reason'>;
  /** Rows whose result was already in the table (should stay 0; non-zero means overlapping runs). */
  readonly rowsAlreadyWritten: Counter;
  /** Rows of the shard's selection, done (scored + skipped, including earlier attempts), and in total. */
  readonly rowsDone: Gauge;
  readonly rowsTotal: Gauge;
  readonly rowsPerSecond: Gauge;
  readonly etaSeconds: Gauge;
  readonly stageDuration: Histogram<'stage'>;
  readonly info: Gauge<'run_id' | 'shard' | 'model' | 'version' | 'backend'>;
  /** 1 once the shard finished (the batch-job convention for alerting on runs that never complete). */
  readonly finished: Gauge;
  readonly lastChunkTimestamp: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.rowsScored = new Counter({
      name: 'flywheel_batch_scorer_rows_scored_total',
      help: 'Rows scored and written by this process',
      registers,
    });
    this.rowsSkipped = new Counter({
      name: 'flywheel_batch_scorer_rows_skipped_total',
      help: 'Rows not scored, by reason (feature-set-mismatch, missing-feature, non-finite-score)',
      labelNames: ['reason'],
      registers,
    });
    this.rowsAlreadyWritten = new Counter({
      name: 'flywheel_batch_scorer_rows_already_written_total',
      help: 'Scored rows whose result row already existed (ON CONFLICT DO NOTHING kept the first)',
      registers,
    });
    this.rowsDone = new Gauge({
      name: 'flywheel_batch_scorer_rows_done',
      help: 'Rows of the shard done (scored + skipped), earlier attempts of the run included',
      registers,
    });
    this.rowsTotal = new Gauge({
      name: 'flywheel_batch_scorer_rows_total_expected',
      help: 'Rows in the shard selection (counted at the first start of the run shard)',
      registers,
    });
    this.rowsPerSecond = new Gauge({
      name: 'flywheel_batch_scorer_rows_per_second',
      help: 'Rows done per second by this process',
      registers,
    });
    this.etaSeconds = new Gauge({
      name: 'flywheel_batch_scorer_eta_seconds',
      help: 'Estimated seconds to finish the shard at the current rate (-1 while unknown)',
      registers,
    });
    this.stageDuration = new Histogram({
      name: 'flywheel_batch_scorer_chunk_stage_duration_seconds',
      help: 'Per chunk: read (FETCH), score (vectorise + predict + decide), write (publish + results + checkpoint)',
      labelNames: ['stage'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.info = new Gauge({
      name: 'flywheel_batch_scorer_run_info',
      help: 'The run shard this process scores and the model version it uses (1)',
      labelNames: ['run_id', 'shard', 'model', 'version', 'backend'],
      registers,
    });
    this.finished = new Gauge({
      name: 'flywheel_batch_scorer_finished',
      help: '1 once the shard is finished',
      registers,
    });
    this.lastChunkTimestamp = new Gauge({
      name: 'flywheel_batch_scorer_last_chunk_timestamp_seconds',
      help: 'When the last chunk was committed (unix seconds)',
      registers,
    });
    this.etaSeconds.set(-1);
  }
}
