import type { BatchScorerMetrics } from '../metrics/batch-scorer.metrics';

export interface ProgressSnapshot {
  /** Rows done (scored + skipped), earlier attempts of the run included. */
  done: number;
  /** Rows in the selection; null until counted. */
  total: number | null;
  skipped: number;
  /** Rows per second done by this process since it started scoring. */
  rate: number;
  /** Seconds left at that rate; null while unknown. */
  etaSeconds: number | null;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** `label  123,456 / 1,000,000 rows (12.3%)  45,678 rows/s  ETA 0:19  skipped 12` */
export function formatProgress(label: string, p: ProgressSnapshot): string {
  const of = p.total === null ? ' / ? rows' : ` / ${fmt(p.total)} rows`;
  const pct = p.total ? ` (${((100 * p.done) / p.total).toFixed(1)}%)` : '';
  const eta = p.etaSeconds === null ? 'ETA ?' : `ETA ${formatDuration(p.etaSeconds)}`;
  return `${label}  ${fmt(p.done)}${of}${pct}  ${fmt(p.rate)} rows/s  ${eta}  skipped ${fmt(p.skipped)}`;
}

/**
 * Rows done / total, rows/s and ETA, on the terminal (stderr: one line rewritten in place on a TTY, a line
 * per period otherwise, so logs and pipes stay readable) and in the metrics gauges.
 */
export class ProgressReporter {
  private done: number;
  private skipped: number;
  private total: number | null = null;
  private doneHere = 0;
  private readonly startedAt = performance.now();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly options: {
      label: string;
      doneAtStart: number;
      skippedAtStart: number;
      intervalMs: number;
      stream: NodeJS.WritableStream & { isTTY?: boolean };
      metrics: BatchScorerMetrics;
    },
  ) {
    this.done = options.doneAtStart;
    this.skipped = options.skippedAtStart;
    options.metrics.rowsDone.set(this.done);
  }

  start(): void {
    this.timer = setInterval(() => this.print(false), this.options.intervalMs);
    this.timer.unref();
  }

  setTotal(total: number): void {
    this.total = total;
    this.options.metrics.rowsTotal.set(total);
  }

  add(rows: number, skipped: number): void {
    this.done += rows;
    this.doneHere += rows;
    this.skipped += skipped;
    const snapshot = this.snapshot();
    const { metrics } = this.options;
    metrics.rowsDone.set(snapshot.done);
    metrics.rowsPerSecond.set(snapshot.rate);
    metrics.etaSeconds.set(snapshot.etaSeconds ?? -1);
  }

  snapshot(): ProgressSnapshot {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const rate = seconds > 0 ? this.doneHere / seconds : 0;
    const left = this.total === null ? null : Math.max(0, this.total - this.done);
    const etaSeconds = left === null ? null : left === 0 ? 0 : rate > 0 ? left / rate : null;
    return { done: this.done, total: this.total, skipped: this.skipped, rate, etaSeconds };
  }

  /** Prints the final line and stops the timer. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.print(true);
  }

  private print(final: boolean): void {
    const line = formatProgress(this.options.label, this.snapshot());
    const { stream } = this.options;
    if (stream.isTTY) stream.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else stream.write(`${line}\n`);
  }
}
