import type { Random } from './random';
import type { GeneratedTransaction } from './traffic';

/** Ground truth for one transaction as a producer sends it to the collector (`type: 'label'`, libs/contracts Label). */
export interface LabelEvent {
  event_id: string;
  account_id: string;
  is_fraud: boolean;
  label_time: number;
  source: string;
  reason: string | null;
}

/**
 * The label a transaction eventually gets: fraud through the chargeback feed (Visa-style reason codes for
 * card-absent / card-present fraud), genuine payments confirmed at settlement. Both arrive after the same
 * kind of delay, uniform in [0.5, 1.5] × `delayMs` — if one class arrived faster, every training window's newest
 * rows would be biased towards it.
 */
export function labelFor(generated: GeneratedTransaction, delayMs: number, random: Random): LabelEvent {
  const { transaction, fraud } = generated;
  return {
    event_id: transaction.event_id,
    account_id: transaction.account_id,
    is_fraud: fraud !== null,
    label_time: transaction.event_time + Math.round(delayMs * (0.5 + random.next())),
    source: fraud ? 'chargeback-feed' : 'settlement',
    reason: fraud ? (transaction.card_present ? '10.3' : '10.4') : null,
  };
}

/** Labels waiting for their label_time (a binary min-heap on it). */
export class LabelQueue {
  private readonly heap: LabelEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(label: LabelEvent): void {
    const heap = this.heap;
    heap.push(label);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent].label_time <= heap[i].label_time) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }

  /** label_time of the next label to become due (+∞ when none waits). */
  nextTime(): number {
    return this.heap.length > 0 ? this.heap[0].label_time : Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the labels due at `now` (label_time ≤ now), at most `limit`, oldest first. */
  takeDue(now: number, limit = Number.POSITIVE_INFINITY): LabelEvent[] {
    const due: LabelEvent[] = [];
    while (this.heap.length > 0 && this.heap[0].label_time <= now && due.length < limit) due.push(this.pop());
    return due;
  }

  /** Everything still waiting, oldest first (e.g. to flush at the end of a backfill). */
  takeAll(): LabelEvent[] {
    const all: LabelEvent[] = [];
    while (this.heap.length > 0) all.push(this.pop());
    return all;
  }

  private pop(): LabelEvent {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop() as LabelEvent;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left].label_time < heap[smallest].label_time) smallest = left;
        if (right < heap.length && heap[right].label_time < heap[smallest].label_time) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i], heap[smallest]];
        i = smallest;
      }
    }
    return top;
  }
}
