import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
// Before any client exists: every connection of this process gets the fixed request queue.
import './kafkajs-request-queue-fix';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  ssl?: boolean;
  logger?: Logger;
}

/** A kafkajs client whose logs go through the service's ECS logger instead of console. */
export function createKafkaClient(connection: KafkaConnection): Kafka {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: connection.ssl || undefined,
    sasl: connection.sasl as SASLOptions | undefined,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: connection.logger ? kafkajsLogCreator(connection.logger) : undefined,
  };
  return new Kafka(config);
}

function kafkajsLogCreator(logger: Logger) {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: { level: logLevel; log: { message: string; [key: string]: unknown } }) => {
      const { message, timestamp: _ts, logger: _name, error, stack, ...rest } = log;
      // kafkajs reports a failure as `error` (its message) and `stack`: ECS wants them as error.message/stack_trace.
      const fields =
        error === undefined && stack === undefined
          ? rest
          : { ...rest, error: { message: typeof error === 'string' ? error : message, stack_trace: stack } };
      if (level === logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
      else if (level === logLevel.INFO) child.info(fields, message);
      else child.debug(fields, message);
    };
}

/** The shared KAFKA_* variables of libs/config's kafkaEnv, as a connection. */
export function kafkaConnectionFromEnv(
  env: {
    KAFKA_BROKERS: string[];
    KAFKA_CLIENT_ID?: string;
    KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    KAFKA_SASL_USERNAME?: string;
    KAFKA_SASL_PASSWORD?: string;
    KAFKA_SSL: boolean;
  },
  defaultClientId: string,
): KafkaConnection {
  const sasl =
    env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD
      ? { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD }
      : undefined;
  return { brokers: env.KAFKA_BROKERS, clientId: env.KAFKA_CLIENT_ID ?? defaultClientId, sasl, ssl: env.KAFKA_SSL };
}
