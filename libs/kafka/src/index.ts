export { BatchConsumer, type BatchConsumerOptions, type TopicRoute } from './consumer/batch-consumer';
export { CrashRestarter } from './consumer/crash-restarter';
export type { BatchHandler, BatchOutcome, DecodedMessage, RejectedMessage } from './consumer/decoded-message';
export {
  PatternSubscription,
  type PatternSubscriptionOptions,
  type RestartableConsumer,
} from './consumer/pattern-subscription';
export { backoffMs, defaultRetryPolicy, type RetryPolicy } from './consumer/retry-policy';
export { DeadLetterPublisher, type FailedMessage } from './dead-letter/dead-letter';
export {
  failureKindOf,
  isRetriable,
  NonRetriableError,
  PayloadFormatError,
  RetriableError,
  SchemaViolationError,
  UnknownSchemaError,
} from './errors';
export { createKafkaClient, type KafkaConnection, kafkaConnectionFromEnv } from './kafka-client';
export { applyKafkajsRequestQueueFix } from './kafkajs-request-queue-fix';
export { LifecycleFollower, type LifecycleFollowerOptions } from './lifecycle/lifecycle-follower';
export { ConsumerLagProbe, type ConsumerLagProbeOptions } from './metrics/consumer-lag-probe';
export { KafkaMetrics } from './metrics/kafka-metrics';
export { KafkaModule, type KafkaModuleOptions, TopicNames } from './nest/kafka.module';
export { KAFKA_CLIENT, KAFKA_OPTIONS } from './nest/kafka.tokens';
export { type KafkaHandlerExtras, KafkaTransport, type KafkaTransportOptions } from './nest/kafka.transport';
export { connectKafkaConsumer, type KafkaConsumerSettings } from './nest/kafka-consumer';
export { KafkaController, KafkaRpcExceptionFilter } from './nest/kafka-rpc-exception.filter';
export {
  FlywheelProducer,
  type FlywheelProducerOptions,
  type OutgoingMessage,
  type SendOptions,
} from './producer/flywheel-producer';
export { type AvroSchema, AvroSerde, type SchemaResolver } from './serde/avro-serde';
export { failSpan, type MessageSpan, PublishSpans, startProcessSpan, tagEventId } from './tracing/message-spans';
export { extractTraceContext, headerString, injectTraceHeaders } from './tracing/trace-headers';
