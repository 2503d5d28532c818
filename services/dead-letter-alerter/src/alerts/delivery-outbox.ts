/** Exponential backoff with full jitter bounds: attempt 1 → initial, doubling up to max. */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

export interface OutboxOptions {
  name: string;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Items handed to one delivery call. */
  maxBatch: number;
  /** Oldest items are dropped beyond this (a webhook down for days must not eat the heap). */
  maxItems: number;
  onDelivered?: (count: number) => void;
  onFailed?: (error: Error, attempt: number) => void;
  onDropped?: (count: number) => void;
}

/**
 * In-memory outbox for one sink (alerts topic or a webhook): FIFO, so a RESOLVED never overtakes its
 * FIRING; failed deliveries are retried with exponential backoff on a timer of their own, so a dead sink
 * never blocks whoever enqueues (the DLQ consumer). Lost on a crash: alert state is rebuilt from the
 * windows after a restart, and the alerts.v1 topic is the durable record.
 */
export class DeliveryOutbox<T> {
  private readonly queue: T[] = [];
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> | undefined;
  private closed = false;
  private lastError: Error | undefined;

  constructor(
    private readonly options: OutboxOptions,
    private readonly deliver: (items: T[]) => Promise<void>,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  get failing(): Error | undefined {
    return this.lastError;
  }

  enqueue(...items: T[]): void {
    if (this.closed || items.length === 0) return;
    this.queue.push(...items);
    const excess = this.queue.length - this.options.maxItems;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.options.onDropped?.(excess);
    }
    if (!this.timer && !this.delivering) this.kick(0);
  }

  /** Tries to deliver what is queued, then stops retrying; for shutdown. */
  async close(flushTimeoutMs = 2_000): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + flushTimeoutMs;
    while (this.queue.length > 0 && Date.now() < deadline && !this.lastError) {
      await (this.delivering ?? this.flushOnce());
    }
    await this.delivering?.catch(() => undefined);
  }

  private kick(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.delivering = this.flushOnce().finally(() => {
        this.delivering = undefined;
        if (this.closed || this.queue.length === 0) return;
        this.kick(
          this.lastError ? retryDelayMs(this.attempt, this.options.initialBackoffMs, this.options.maxBackoffMs) : 0,
        );
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async flushOnce(): Promise<void> {
    const batch = this.queue.slice(0, this.options.maxBatch);
    if (batch.length === 0) return;
    try {
      await this.deliver(batch);
      // enqueue may have dropped from the head meanwhile; remove exactly what was delivered
      for (const item of batch) {
        const index = this.queue.indexOf(item);
        if (index >= 0) this.queue.splice(index, 1);
      }
      this.attempt = 0;
      this.lastError = undefined;
      this.options.onDelivered?.(batch.length);
    } catch (error) {
      this.attempt += 1;
      this.lastError = error instanceof Error ? error : new Error(String(error));
      this.options.onFailed?.(this.lastError, this.attempt);
    }
  }
}
