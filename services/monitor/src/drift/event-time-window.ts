/** A closed window: one column of values per watched quantity, `count` rows, its event-time span. */
export interface ClosedWindow {
  columns: Float64Array[];
  count: number;
  /** Smallest and largest event time of its samples. */
  start: number;
  end: number;
  closedBy: 'count' | 'time';
}

/**
 * Tumbling windows of samples, closed by count or by event time, whichever comes first: a window closes when
 * it holds `size` samples, or when a sample arrives whose event time lies `spanMs` or more after the window's
 * first sample (that sample then opens the next window). spanMs = 0 closes by count only.
 *
 * Windows never overlap: the trigger's hysteresis (k drifted windows in a row) is calibrated for independent
 * windows, which overlapping (sliding) windows are not. Time is event time only, never the wall clock, so a
 * replay or a catch-up after an outage cuts the same windows as the live run did; a window stays open while
 * no later sample arrives (there is no timer).
 */
export class EventTimeWindow {
  private open?: { columns: Float64Array[]; count: number; first: number; start: number; end: number };

  constructor(
    private readonly width: number,
    private readonly size: number,
    private readonly spanMs: number,
  ) {
    if (!(size >= 1)) throw new RangeError('window size must be ≥ 1');
  }

  /** Samples in the open window. */
  get count(): number {
    return this.open?.count ?? 0;
  }

  /** The open (partial) window, for reports; never judged by the trigger until it closes. */
  peek(): ClosedWindow | undefined {
    const w = this.open;
    if (!w || w.count === 0) return undefined;
    return { columns: w.columns, count: w.count, start: w.start, end: w.end, closedBy: 'count' };
  }

  /** Adds one sample (`values[c]` for column c) at event time `t`; returns the windows this closed (0–2). */
  add(t: number, values: ArrayLike<number>): ClosedWindow[] {
    const closed: ClosedWindow[] = [];
    if (this.open && this.spanMs > 0 && t - this.open.first >= this.spanMs) {
      closed.push(this.close('time'));
    }
    if (!this.open) {
      this.open = {
        columns: Array.from({ length: this.width }, () => new Float64Array(this.size)),
        count: 0,
        first: t,
        start: t,
        end: t,
      };
    }
    const w = this.open;
    for (let c = 0; c < this.width; c++) w.columns[c][w.count] = values[c];
    w.count++;
    if (t < w.start) w.start = t;
    if (t > w.end) w.end = t;
    if (w.count === this.size) closed.push(this.close('count'));
    return closed;
  }

  private close(closedBy: 'count' | 'time'): ClosedWindow {
    const w = this.open as NonNullable<typeof this.open>;
    this.open = undefined;
    return {
      columns: w.columns.map((column) => column.subarray(0, w.count)),
      count: w.count,
      start: w.start,
      end: w.end,
      closedBy,
    };
  }
}
