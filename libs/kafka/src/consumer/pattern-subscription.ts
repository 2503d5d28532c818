import type { Admin } from 'kafkajs';
import type { Logger } from 'pino';

/** What PatternSubscription restarts: anything with start/stop (a BatchConsumer). */
export interface RestartableConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): { ok: boolean; detail?: string };
}

export interface PatternSubscriptionOptions {
  admin: Admin;
  /** Which topics of the cluster to consume (e.g. `t => t.startsWith(prefix) && t.endsWith('.dlq')`). */
  match: (topic: string) => boolean;
  /** Builds a consumer (same group every time) for the given, sorted, non-empty topic list. */
  createConsumer: (topics: string[]) => RestartableConsumer;
  /** How often the topic list is refreshed (admin.listTopics). */
  refreshIntervalMs: number;
  logger?: Logger;
  /** Called after each (re)subscription with the topics now consumed. */
  onSubscribed?: (topics: string[]) => void;
}

/**
 * Consumes every topic matching a predicate, including topics created later. kafkajs cannot add topics to
 * a running consumer (and its regex subscription is resolved once, at subscribe time), so on a change of
 * the matching topic list the consumer is stopped (in-flight batch finishes, resolved offsets commit) and
 * a new one of the same group starts with the new list; the group rebalances and carries on from its
 * committed offsets. Refresh failures (broker down) keep the current subscription and retry next tick.
 */
export class PatternSubscription {
  private consumer: RestartableConsumer | undefined;
  private current: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  private lastError: Error | undefined;

  constructor(private readonly options: PatternSubscriptionOptions) {}

  /** The topics currently consumed. */
  get topics(): readonly string[] {
    return this.current;
  }

  /** Subscribes to what matches now (no consumer while nothing matches) and starts the refresh schedule. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing?.catch(() => undefined);
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  health(): { ok: boolean; detail?: string } {
    if (this.stopped) return { ok: false, detail: 'subscription stopped' };
    if (!this.consumer) return { ok: true, detail: 'no matching topics yet' };
    const inner = this.consumer.health();
    const detail = `${this.current.length} topics; ${inner.detail ?? ''}`.trim();
    return {
      ok: inner.ok,
      detail: this.lastError ? `${detail}; last refresh failed: ${this.lastError.message}` : detail,
    };
  }

  /** Re-reads the topic list now and resubscribes when it changed; concurrent calls share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh()
        .catch((error: Error) => {
          this.lastError = error;
          this.options.logger?.warn({ error }, 'topic refresh failed; keeping the current subscription');
        })
        .finally(() => this.schedule());
    }, this.options.refreshIntervalMs);
    this.timer.unref();
  }

  private async doRefresh(): Promise<void> {
    const listed = await this.options.admin.listTopics();
    this.lastError = undefined;
    const next = listed.filter((t) => this.options.match(t)).sort();
    if (sameList(next, this.current) && (this.consumer || next.length === 0)) return;
    if (this.stopped) return;
    const previous = this.current;
    if (this.consumer) {
      await this.consumer.stop();
      this.consumer = undefined;
    }
    this.current = next;
    if (next.length > 0) {
      const consumer = this.options.createConsumer(next);
      try {
        await consumer.start();
      } catch (error) {
        // leave current empty so the next tick tries again
        this.current = [];
        await consumer.stop().catch(() => undefined);
        throw error;
      }
      this.consumer = consumer;
    }
    this.options.logger?.info(
      { topics: next, added: next.filter((t) => !previous.includes(t)) },
      'subscription updated to the matching topics',
    );
    this.options.onSubscribed?.(next);
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
