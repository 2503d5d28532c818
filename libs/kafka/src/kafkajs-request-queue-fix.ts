import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's RequestQueue re-arms a timer after every check of its pending queue, also when nothing is
 * pending: with `throttledUntil` at its initial -1 the delay is negative (= 1 ms), so every broker connection
 * of every client (producer, consumer, admin) runs a 1 ms timer loop for as long as it is open
 * (tulios/kafkajs#1556 and #1704; the fix proposed in #1667 was never released, the project is unmaintained).
 * On this project's 2-core machine the loops of an idle mesh cost more CPU than its fetch polling, and under
 * load they wake every process a thousand times a second.
 *
 * The replacement schedules a check only while requests are pending, as #1667 does. Nothing else needs the
 * timer: push() schedules a check when it queues a request, and a fulfilled request checks the queue itself.
 * Applied once, when libs/kafka is loaded; a kafkajs without this method (another version) is left as it is,
 * and the spec that pins the behaviour fails.
 */

/** The RequestQueue fields this fix reads and writes (kafkajs/src/network/requestQueue/index.js). */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL: how often a queue blocked by the in-flight limit is rechecked. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

const APPLIED = Symbol.for('flywheel.kafkajs.requestQueueFix');

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** The RequestQueue class of the kafkajs this process loads (exported for the spec). */
export function kafkajsRequestQueue(): { prototype: RequestQueueInternals } {
  const require = createRequire(__filename);
  return require('kafkajs/src/network/requestQueue/index.js');
}

/** Replaces RequestQueue#scheduleCheckPendingRequests once per process; true when the fix is in place. */
export function applyKafkajsRequestQueueFix(): boolean {
  const globals = globalThis as { [APPLIED]?: boolean };
  if (globals[APPLIED]) return true;
  const { prototype } = kafkajsRequestQueue();
  if (typeof prototype?.scheduleCheckPendingRequests !== 'function') return false;
  prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  globals[APPLIED] = true;
  return true;
}

applyKafkajsRequestQueueFix();
