import type { Producer, ProducerRecord, RecordMetadata } from 'kafkajs';

/**
 * One idempotent kafkajs producer and what keeps it safe. FlywheelProducer has one lane, or several when asked
 * (each owning a fixed subset of partitions), and every lane follows the same rule on its own: after a failed send
 * it starts over with a new producer id.
 *
 * Why: a failed send leaves the idempotent producer's sequence numbers rolled back while the broker may have
 * written the batch (the answer was lost with the connection). Reusing those numbers for new messages makes the
 * broker take them for that batch's duplicate and acknowledge them WITHOUT writing them. As the Java client does,
 * a new kafkajs producer (a new producer id) replaces the old one after any failed send.
 */
export class ProducerLane {
  private producer: Producer;
  private replacing?: Promise<void>;
  private connected = false;

  constructor(
    private readonly createProducer: () => Producer,
    /** A transactional producer keeps its id (its transaction state is the caller's business). */
    private readonly replaceOnFailure: boolean,
  ) {
    this.producer = this.watch(createProducer());
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async connect(): Promise<void> {
    await this.producer.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    this.connected = false;
  }

  /** acks=all send on this lane's current producer; a failure replaces the producer before rethrowing. */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.replacing) await this.replacing;
    try {
      return await this.producer.send(record);
    } catch (error) {
      this.replace();
      throw error;
    }
  }

  /** The current kafkajs producer (transactions, tools). */
  unwrap(): Producer {
    return this.producer;
  }

  private replace(): void {
    if (this.replacing || !this.replaceOnFailure) return;
    const old = this.producer;
    this.producer = this.watch(this.createProducer());
    this.connected = false;
    this.replacing = this.producer
      .connect()
      .catch(() => undefined)
      .finally(() => {
        this.replacing = undefined;
      });
    old.disconnect().catch(() => undefined);
  }

  private watch(producer: Producer): Producer {
    producer.on(producer.events.DISCONNECT, () => {
      if (producer === this.producer) this.connected = false;
    });
    producer.on(producer.events.CONNECT, () => {
      if (producer === this.producer) this.connected = true;
    });
    return producer;
  }
}
