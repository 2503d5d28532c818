import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * One item of a batch as it arrived: its parsed JSON (or the parse error) and its JSON text. The text's bytes are
 * made only for a rejected item (its dead letter): an accepted one needs just their count.
 */
export interface BatchItem {
  index: number;
  value?: unknown;
  /** Set when this NDJSON line is not JSON (per-item payload-format rejection). */
  parseError?: string;
  /** The item's JSON: compact re-serialization (JSON body) or the line as sent (NDJSON). */
  text: string;
}

/** Size of the item's JSON in UTF-8 bytes (the per-event size limit), without allocating them. */
export function itemByteLength(item: BatchItem): number {
  return Buffer.byteLength(item.text);
}

/** The item's JSON as bytes, for its dead letter. */
export function itemBytes(item: BatchItem): Buffer {
  return Buffer.from(item.text);
}

/** Why a whole body was refused; `status` is the HTTP answer. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export type BodyFormat = 'json' | 'ndjson';

/** application/json → a JSON array (or one object); application/x-ndjson (or jsonl) → one event per line. */
export function formatOf(contentType: string | undefined): BodyFormat {
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (media === 'application/json') return 'json';
  if (media === 'application/x-ndjson' || media === 'application/ndjson' || media === 'application/jsonl') {
    return 'ndjson';
  }
  throw new BodyError(
    415,
    `unsupported Content-Type '${media || '(none)'}': use application/json or application/x-ndjson`,
  );
}

/** Undoes Content-Encoding (gzip only), never inflating past `maxBytes` (a gzip bomb is a 413). */
export async function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return body;
  if (coding !== 'gzip' && coding !== 'x-gzip') {
    throw new BodyError(415, `unsupported Content-Encoding '${coding}': use gzip or none`);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new BodyError(413, `body inflates to more than ${maxBytes} bytes`);
    }
    throw new BodyError(400, `body is not valid gzip: ${(error as Error).message}`);
  }
}

/** Splits a decoded body into items. Throws BodyError(400) when the body as a whole is not JSON/NDJSON. */
export function parseBatch(body: Buffer, format: BodyFormat): BatchItem[] {
  if (body.length === 0) throw new BodyError(400, 'body is empty: send a JSON array of events');
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new BodyError(400, 'body is not valid UTF-8');
  }
  return format === 'json' ? parseJsonArray(text) : parseNdjson(text);
}

function parseJsonArray(text: string): BatchItem[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BodyError(400, `body is not valid JSON: ${(error as Error).message}`);
  }
  const values = Array.isArray(parsed) ? parsed : isObject(parsed) ? [parsed] : undefined;
  if (!values) throw new BodyError(400, 'body must be a JSON array of event objects (or one event object)');
  if (values.length === 0) throw new BodyError(400, 'batch is empty');
  // Items are re-serialized: the same JSON value, compact, is what a replay from the DLQ would post.
  const items: BatchItem[] = new Array(values.length);
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    items[index] = { index, value, text: JSON.stringify(value) ?? 'null' };
  }
  return items;
}

function parseNdjson(text: string): BatchItem[] {
  const items: BatchItem[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const item: BatchItem = { index: items.length, text: line };
    try {
      item.value = JSON.parse(line);
    } catch (error) {
      item.parseError = `line is not valid JSON: ${(error as Error).message}`;
    }
    items.push(item);
  }
  if (items.length === 0) throw new BodyError(400, 'batch is empty');
  // A body whose lines are all garbage is a malformed body, not a batch of rejections.
  if (items.every((item) => item.parseError)) {
    throw new BodyError(400, `body is not valid NDJSON: ${items[0].parseError}`);
  }
  return items;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
