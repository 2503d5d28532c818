import type { Consumer, ConsumerRunConfig } from 'kafkajs';
import type { Logger } from 'pino';

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

/**
 * kafkajs restarts a crashed consumer only when the error is retriable; after a non-retriable one it disconnects
 * and stays stopped for good while the process lives on — readiness false forever, nothing consumed, no supervisor
 * restart (a liveness probe still passes). One such error is transient in practice: KafkaJSSASLAuthenticationError
 * "Closed connection", when a broker that is starting or overloaded drops the connection during the SCRAM
 * handshake (the fault suite hit it after broker restarts). So: run the consumer through this, and after a crash
 * kafkajs will not restart, it is started again (connect + the same run config) with a backoff of 1 s doubling to
 * 30 s, until it runs or `wanted()` turns false (the service is stopping). Readiness stays down meanwhile (the
 * owner's crashed flag is cleared by the next group join) and every attempt is logged with its error.
 */
export class CrashRestarter {
  private config?: ConsumerRunConfig;
  private timer?: NodeJS.Timeout;
  private delay = FIRST_DELAY_MS;

  constructor(
    private readonly consumer: Consumer,
    private readonly wanted: () => boolean,
    private readonly context: { groupId: string; logger?: Logger },
  ) {
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.schedule(payload.error);
    });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      this.delay = FIRST_DELAY_MS;
    });
  }

  /** consumer.run, remembering the config for restarts. */
  async run(config: ConsumerRunConfig): Promise<void> {
    this.config = config;
    await this.consumer.run(config);
  }

  /** No restart once the owner stops. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(error: Error): void {
    if (!this.config || this.timer || !this.wanted()) return;
    const delay = this.delay;
    this.delay = Math.min(MAX_DELAY_MS, this.delay * 2);
    this.context.logger?.warn(
      { group: this.context.groupId, error, delayMs: delay },
      'consumer stopped after an error kafkajs does not retry; starting it again',
    );
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.wanted() || !this.config) return;
      const config = this.config;
      this.consumer
        .connect()
        .then(() => this.consumer.run(config))
        .catch((failure: Error) => {
          // connect/run failed before the consumer crashed again (no CRASH event): try later
          this.consumer.disconnect().catch(() => undefined);
          this.schedule(failure);
        });
    }, delay);
    this.timer.unref?.();
  }
}
