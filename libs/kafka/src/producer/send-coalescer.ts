interface Waiter<R> {
  count: number;
  weight: number;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

interface Lane<T, R> {
  items: T[];
  waiters: Waiter<R>[];
  flushing: boolean;
}

/**
 * Group commit for produce calls. kafkajs has no linger and our idempotent producer keeps one request in
 * flight per broker, so concurrent small sends would queue one behind the other. Here, while a send for a
 * topic is in flight, later calls for that topic accumulate and leave together as the next send: no delay
 * when idle, bigger requests under load. Every caller resolves (or fails) with the send that carried its
 * items; order between callers is kept.
 */
export class SendCoalescer<T, R> {
  private readonly lanes = new Map<string, Lane<T, R>>();

  constructor(
    private readonly flush: (key: string, items: T[]) => Promise<R>,
    /**
     * Upper bound of the summed weight of a merged send (bytes, for Kafka: the broker refuses a record batch
     * over message.max.bytes, 1 MiB by default). One caller alone may exceed it; callers are never split.
     */
    private readonly maxWeight = 10_000,
    private readonly weigh: (item: T) => number = () => 1,
  ) {}

  submit(key: string, items: T[]): Promise<R> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { items: [], waiters: [], flushing: false };
      this.lanes.set(key, lane);
    }
    const result = new Promise<R>((resolve, reject) => {
      lane.waiters.push({
        count: items.length,
        weight: items.reduce((w, item) => w + this.weigh(item), 0),
        resolve,
        reject,
      });
    });
    lane.items.push(...items);
    if (!lane.flushing) void this.drain(key, lane);
    return result;
  }

  private async drain(key: string, lane: Lane<T, R>): Promise<void> {
    lane.flushing = true;
    try {
      while (lane.waiters.length > 0) {
        // Whole callers only: a caller's items never straddle two sends.
        let taken = 0;
        let weight = 0;
        let callers = 0;
        while (
          callers < lane.waiters.length &&
          (callers === 0 || weight + lane.waiters[callers].weight <= this.maxWeight)
        ) {
          taken += lane.waiters[callers].count;
          weight += lane.waiters[callers].weight;
          callers++;
        }
        const waiters = lane.waiters.splice(0, callers);
        const items = lane.items.splice(0, taken);
        try {
          const result = await this.flush(key, items);
          for (const waiter of waiters) waiter.resolve(result);
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error);
        }
      }
    } finally {
      lane.flushing = false;
      if (lane.waiters.length === 0) this.lanes.delete(key);
    }
  }
}
