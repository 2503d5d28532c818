import type { DeadLetter } from '@flywheel/contracts';
import type { AvroSerde } from '@flywheel/kafka';
import type { KafkaMessage } from 'kafkajs';
import { decodeOriginal } from '../consumer/dlq-serde';

/** A DLQ record as read: the envelope when it decodes, else only the raw bytes. */
export interface DlqRecord {
  partition: number;
  offset: string;
  timestamp: number;
  key: Buffer | null;
  raw: Buffer | null;
  envelope: DeadLetter | null;
  decodeError?: string;
}

export async function readRecord(
  serde: AvroSerde,
  topic: string,
  partition: number,
  message: KafkaMessage,
): Promise<DlqRecord> {
  const base = {
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key ?? null,
    raw: message.value ?? null,
  };
  try {
    return { ...base, envelope: await serde.decode<DeadLetter>(topic, message.value) };
  } catch (error) {
    return { ...base, envelope: null, decodeError: (error as Error).message };
  }
}

export interface RecordFilter {
  kinds?: string[];
  /** On last_failure_time, epoch millis, inclusive. */
  from?: number;
  to?: number;
  key?: string;
  eventIds?: string[];
}

export function matchesFilter(record: DlqRecord, filter: RecordFilter): boolean {
  const e = record.envelope;
  if (!e) return !(filter.kinds?.length || filter.from || filter.to || filter.key || filter.eventIds?.length);
  if (filter.kinds?.length && !filter.kinds.includes(e.failure_kind)) return false;
  if (filter.from !== undefined && e.last_failure_time < filter.from) return false;
  if (filter.to !== undefined && e.last_failure_time > filter.to) return false;
  if (filter.key !== undefined && (e.original_key?.toString('utf8') ?? record.key?.toString('utf8')) !== filter.key)
    return false;
  if (filter.eventIds?.length && (e.event_id === null || !filter.eventIds.includes(e.event_id))) return false;
  return true;
}

const bytes = (b: Buffer | null) => (b === null ? null : { utf8: printable(b), base64: b.toString('base64') });

function printable(b: Buffer): string | null {
  const text = b.toString('utf8');
  // replacement characters (invalid UTF-8) or control bytes mean "not text": base64 only
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || c < 0x09 || (c > 0x0d && c < 0x20)) return null;
  }
  return text;
}

/** JSON view of a record for the browse API: the envelope, the original value decoded where it decodes. */
export async function renderRecord(serde: AvroSerde, record: DlqRecord) {
  const e = record.envelope;
  const head = { partition: record.partition, offset: record.offset, timestamp: record.timestamp };
  if (!e) {
    return {
      ...head,
      envelope: null,
      decode_error: record.decodeError,
      raw: bytes(record.raw),
      key: bytes(record.key),
    };
  }
  let original: { decoded: unknown; decode_error?: string };
  try {
    original = { decoded: toJson(await decodeOriginal(serde, e.original_topic, e.original_value)) };
  } catch (error) {
    original = { decoded: null, decode_error: (error as Error).message };
  }
  return {
    ...head,
    envelope: {
      original_topic: e.original_topic,
      original_partition: e.original_partition,
      original_offset: e.original_offset,
      original_timestamp: e.original_timestamp,
      failure_kind: e.failure_kind,
      error_class: e.error_class,
      error_message: e.error_message,
      stage: e.stage,
      attempts: e.attempts,
      first_failure_time: e.first_failure_time,
      last_failure_time: e.last_failure_time,
      event_id: e.event_id,
    },
    original_key: bytes(e.original_key),
    original_value: { ...bytes(e.original_value), ...original },
    original_headers: e.original_headers.map((h) => ({ key: h.key, value: bytes(h.value) })),
  };
}

/** Avro values to JSON-safe values (Buffers as base64, bigints as strings). */
function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (Buffer.isBuffer(value)) return { base64: value.toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}
