import type { KafkaMessage } from 'kafkajs';
import { contractOf, type KafkaSession } from './kafka-session';

/** A Kafka record as `flywheel consume` prints it (one JSON object per line). */
export interface PrintedRecord {
  topic: string;
  partition: number;
  offset: string;
  /** Record timestamp, epoch millis. */
  timestamp: number;
  key: string | null;
  headers: Record<string, string>;
  value: unknown;
  /** Set when the value could not be decoded; `value_base64` then holds the bytes. */
  value_error?: string;
  value_base64?: string;
}

/**
 * Decodes values of a topic: catalog topics with their contract (the writer's schema resolved into it, as the
 * services read them); other topics with the writer's schema from the registry when Confluent-framed, else as
 * JSON or text. A record that does not decode is still printed, with the error and its bytes.
 */
export function recordDecoder(session: KafkaSession, topic: string) {
  const catalog = contractOf(topic);
  const decodeValue = async (bytes: Buffer): Promise<unknown> => {
    if (catalog) return session.serde.decode(topic, bytes);
    if (bytes.length >= 5 && bytes[0] === 0) return session.serde.registry.decode(bytes);
    const text = bytes.toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return async (partition: number, message: KafkaMessage): Promise<PrintedRecord> => {
    const record: PrintedRecord = {
      topic,
      partition,
      offset: message.offset,
      timestamp: Number(message.timestamp),
      key: message.key?.toString('utf8') ?? null,
      headers: headersOf(message),
      value: null,
    };
    if (message.value === null) return record;
    try {
      record.value = await decodeValue(message.value);
    } catch (error) {
      record.value_error = (error as Error).message;
      record.value_base64 = message.value.toString('base64');
    }
    return record;
  };
}

function headersOf(message: KafkaMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).join(',');
  }
  return headers;
}
