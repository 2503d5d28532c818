/**
 * The framework-free part of libs/kafka: serde, producer, client factory and error classes, without the Nest
 * transport that index.ts also exports. Loading index.ts loads @nestjs/core and @nestjs/microservices (seconds
 * on a busy machine); the `flywheel` CLI (started for every command) and libs/client (imported by external apps)
 * import this file instead.
 */
export {
  isRetriable,
  NonRetriableError,
  PayloadFormatError,
  RetriableError,
  SchemaViolationError,
  UnknownSchemaError,
} from './errors';
export { createKafkaClient, type KafkaConnection } from './kafka-client';
export { FlywheelProducer, type OutgoingMessage, type SendOptions } from './producer/flywheel-producer';
export { type AvroSchema, AvroSerde, type SchemaResolver } from './serde/avro-serde';
