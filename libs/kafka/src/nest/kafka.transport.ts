import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { BatchConsumer, type BatchConsumerOptions, type TopicRoute } from '../consumer/batch-consumer';
import type { BatchOutcome, DecodedMessage } from '../consumer/decoded-message';

/** Options of `@EventPattern(topic, { batch: true })`; without it a handler receives one message at a time. */
export interface KafkaHandlerExtras {
  batch?: boolean;
}

export type KafkaTransportOptions = Omit<BatchConsumerOptions, 'routes'> & {
  /** Prepended to every `@EventPattern` topic (TOPIC_PREFIX). */
  topicPrefix?: string;
};

/**
 * A @nestjs/microservices custom transport over libs/kafka's BatchConsumer: every `@EventPattern(topic)`
 * becomes a route of one consumer group. Handlers receive decoded messages (`DecodedMessage<T>`, or an
 * array of them in batch mode) and may return `{ rejected }`; thrown errors keep their class so the
 * consumer can tell retriable from poison.
 */
export class KafkaTransport extends Server implements CustomTransportStrategy {
  private consumer?: BatchConsumer;

  constructor(private readonly options: KafkaTransportOptions) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const routes = [...this.messageHandlers.entries()].map(([pattern, handler]): TopicRoute => {
        const batch = Boolean((handler.extras as KafkaHandlerExtras | undefined)?.batch);
        const invoke = async (data: unknown): Promise<BatchOutcome | undefined> => {
          const result = await handler(data);
          const value = await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
          return value as BatchOutcome | undefined;
        };
        return {
          topic: `${this.options.topicPrefix ?? ''}${pattern}`,
          mode: batch ? 'batch' : 'message',
          handler: batch
            ? (messages) => invoke(messages)
            : (messages: DecodedMessage<unknown>[]) => invoke(messages[0]),
        };
      });
      const { topicPrefix: _prefix, ...consumerOptions } = this.options;
      this.consumer = new BatchConsumer({ ...consumerOptions, routes });
      await this.consumer.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await this.consumer?.stop();
  }

  health(): { ok: boolean; detail?: string } {
    return this.consumer?.health() ?? { ok: false, detail: 'consumer not started' };
  }

  on(): never {
    throw new Error('KafkaTransport does not support event listeners; use health() and metrics');
  }

  unwrap<T>(): T {
    if (!this.consumer) throw new Error('KafkaTransport is not listening yet');
    return this.consumer as T;
  }
}
