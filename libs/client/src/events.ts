/**
 * What an external producer sends to the collector (`POST /v1/events`) and what it gets back. The shapes follow
 * the contracts of libs/contracts (RawEvent, Label) minus the fields the collector stamps itself.
 */
import type { Channel, RawEvent } from '@flywheel/contracts';

/** Epoch milliseconds or an ISO-8601 date-time with a zone ("2026-01-01T10:00:00Z"). */
export type EventTime = number | string;

/** A card transaction → events.raw.v1. `event_id` is assigned by the client when absent (see README: retries). */
export interface TransactionInput {
  type: 'transaction';
  event_id?: string;
  event_time: EventTime;
  account_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  channel: Channel;
  card_present: boolean;
  device_id?: string | null;
  ip_country?: string | null;
  /** Producer extras (string → string). */
  attributes?: Record<string, string> | null;
}

/** Delayed ground truth for a transaction → labels.v1. `event_id` names the labelled transaction. */
export interface LabelInput {
  type: 'label';
  event_id: string;
  account_id: string;
  is_fraud: boolean;
  label_time: EventTime;
  source?: string;
  reason?: string | null;
}

export type EventInput = TransactionInput | LabelInput;

/** The collector's verdict on one event of a batch; `index` is the event's position in the caller's array. */
export interface EventResult {
  index: number;
  event_id: string | null;
  status: 'accepted' | 'rejected';
  /** `<failure kind>: <why>`, e.g. "schema-violation: expected double, got string \"12.5\"". */
  reason?: string;
  field?: string;
}

export interface SendResult {
  accepted: number;
  rejected: number;
  /** One per input event, in input order. */
  results: EventResult[];
}

/** Fields of a RawEvent the collector sets; sending them is a rejection, so the types leave them out. */
export type CollectorStampedField = keyof Pick<RawEvent, 'event_type' | 'received_time' | 'source' | 'api_key_id'>;
