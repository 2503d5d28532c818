import type { CollectorClient } from './collector-client';
import type { EventInput, EventResult } from './events';

export interface EventBatcherOptions {
  /** Send as soon as this many events wait. Default 500. */
  maxEvents?: number;
  /** Send events that waited this long even if the batch is not full. Default 50 ms. */
  lingerMs?: number;
}

interface Pending {
  event: EventInput;
  resolve(result: EventResult): void;
  reject(error: unknown): void;
}

/**
 * For producers that have one event at a time: `add` queues an event and resolves with its own result once the
 * batch it travelled in was answered. Events are sent in batches of `maxEvents` or after `lingerMs`, one batch at
 * a time, in order.
 */
export class EventBatcher {
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private sending: Promise<void> = Promise.resolve();
  private readonly maxEvents: number;
  private readonly lingerMs: number;

  constructor(
    private readonly client: CollectorClient,
    options: EventBatcherOptions = {},
  ) {
    this.maxEvents = options.maxEvents ?? 500;
    this.lingerMs = options.lingerMs ?? 50;
  }

  add(event: EventInput): Promise<EventResult> {
    return new Promise<EventResult>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.queue.length >= this.maxEvents) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.lingerMs);
    });
  }

  /** Sends what is queued; resolves when every batch sent so far was answered. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length > 0) this.sending = this.sending.then(() => this.sendBatch(batch));
    return this.sending;
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    try {
      const { results } = await this.client.send(batch.map((p) => p.event));
      for (const result of results) batch[result.index].resolve(result);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
