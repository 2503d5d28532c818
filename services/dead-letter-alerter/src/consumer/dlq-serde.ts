import { baseTopic, dlqTopics, isDlqTopic, schemaFor } from '@flywheel/contracts';
import { AvroSerde } from '@flywheel/kafka';

/**
 * Serde for DLQ topics: any `*.dlq` name (catalog, prefixed, or a DLQ of a topic the catalog does not
 * know) reads with the DeadLetter contract; other catalog topics with their own contract.
 */
export function createDlqSerde(schemaRegistryUrl: string): AvroSerde {
  return AvroSerde.connect(schemaRegistryUrl, (topic) =>
    isDlqTopic(topic) ? schemaFor(dlqTopics.eventsRaw) : schemaFor(topic),
  );
}

/**
 * Hands the raw bytes to the handler instead of decoding: the alerter decodes envelopes itself, because
 * the runner's answer to an undecodable record (dead-letter it to `<topic>.dlq`) has no meaning for a
 * DLQ, and one foreign record must not stall the topic.
 */
export class PassThroughSerde extends AvroSerde {
  override async decode<T = unknown>(_topic: string, buffer: Buffer | null): Promise<T> {
    return buffer as T;
  }
}

/** Decodes an original value with its topic's contract when the topic is in the catalog, else with the writer's schema. */
export async function decodeOriginal(serde: AvroSerde, topic: string, value: Buffer | null): Promise<unknown> {
  if (value === null) return null;
  if (baseTopic(topic)) return serde.decode(topic, value);
  return serde.registry.decode(value);
}
