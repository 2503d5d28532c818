import type { ServiceEndpoint } from './mesh-service';

export interface ReadinessSample {
  at: number;
  ready: boolean;
}

/**
 * Polls /health/ready of some services every `intervalMs` and keeps the samples, so a test can say whether
 * readiness dropped during a fault and when it came back.
 */
export class ReadinessRecorder {
  readonly samples = new Map<ServiceEndpoint, ReadinessSample[]>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly services: ServiceEndpoint[],
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    for (const s of this.services) this.samples.set(s, []);
    const poll = () => {
      for (const s of this.services) {
        const at = Date.now();
        void s.ready().then((ready) => this.samples.get(s)?.push({ at, ready }));
      }
    };
    poll();
    this.timer = setInterval(poll, this.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether the service answered not-ready at some point in [from, to]. */
  droppedBetween(service: ServiceEndpoint, from: number, to: number): boolean {
    return (this.samples.get(service) ?? []).some((s) => s.at >= from && s.at <= to && !s.ready);
  }

  /** First sample at or after `from` that was ready (null: never). */
  readyAgainAt(service: ServiceEndpoint, from: number): number | null {
    return (this.samples.get(service) ?? []).find((s) => s.at >= from && s.ready)?.at ?? null;
  }
}
