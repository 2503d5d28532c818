/** A prediction joined with its label. */
export interface LabelledSample {
  score: number;
  label: boolean;
  /** The prediction's decision threshold (precision/recall are measured at it). */
  threshold: number;
  /** The prediction's event time. */
  eventTime: number;
  version: number;
}

interface PendingPrediction {
  score: number;
  threshold: number;
  eventTime: number;
  version: number;
}

export interface LabelJoinOptions {
  /** A prediction waits this long (event time) for its label, and a label for its prediction. */
  horizonMs: number;
  /** Upper bound on predictions and labels waiting (oldest dropped first). */
  maxPending: number;
}

/**
 * Joins labels (labels.v1) to predictions by event_id, in either order, within a bounded horizon of event time
 * and a bounded number of waiting entries, so memory stays bounded whatever arrives.
 */
export class LabelJoin {
  private readonly predictions = new Map<string, PendingPrediction>();
  private readonly labels = new Map<string, { isFraud: boolean; eventTime: number }>();
  readonly counters = { joined: 0, expired: 0 };

  constructor(private readonly options: LabelJoinOptions) {}

  /** A prediction arrives: joined at once when its label is waiting, else remembered. */
  addPrediction(eventId: string, prediction: PendingPrediction): LabelledSample | undefined {
    const label = this.labels.get(eventId);
    if (label) {
      this.labels.delete(eventId);
      this.counters.joined++;
      return { ...prediction, label: label.isFraud };
    }
    this.remember(this.predictions, eventId, prediction);
    return undefined;
  }

  /** A label arrives (label_time as its event time): joined at once when its prediction is waiting. */
  addLabel(eventId: string, isFraud: boolean, labelTime: number): LabelledSample | undefined {
    const prediction = this.predictions.get(eventId);
    if (prediction) {
      this.predictions.delete(eventId);
      this.counters.joined++;
      return { ...prediction, label: isFraud };
    }
    this.remember(this.labels, eventId, { isFraud, eventTime: labelTime });
    return undefined;
  }

  /** Drops entries older than the horizon before `newestEventTime` (maps iterate in insertion order). */
  expire(newestEventTime: number): void {
    const limit = newestEventTime - this.options.horizonMs;
    for (const map of [this.predictions, this.labels] as Map<string, { eventTime: number }>[]) {
      for (const [key, value] of map) {
        if (value.eventTime >= limit) break;
        map.delete(key);
        this.counters.expired++;
      }
    }
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    while (map.size > this.options.maxPending) {
      map.delete(map.keys().next().value as string);
      this.counters.expired++;
    }
  }
}

/** The newest `capacity` labelled samples (a ring: adding is O(1) however large the quality window). */
export class NewestSamples {
  private readonly ring: LabelledSample[] = [];
  private next = 0;
  newest?: LabelledSample;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.ring.length;
  }

  add(sample: LabelledSample): void {
    if (this.ring.length < this.capacity) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
    this.newest = sample;
  }

  clear(): void {
    this.ring.length = 0;
    this.next = 0;
    this.newest = undefined;
  }

  /** The samples, in no particular order. */
  values(): readonly LabelledSample[] {
    return this.ring;
  }
}
