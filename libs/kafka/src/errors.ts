/**
 * How a failure is handled is decided by its class: a NonRetriableError is the message's fault (it goes to
 * the DLQ at once, the consumer moves on); anything else is assumed transient and is retried with backoff
 * before the message is dead-lettered.
 */
export class NonRetriableError extends Error {
  constructor(
    message: string,
    /** DLQ failure kind, e.g. payload-format, schema-violation, enrichment, feature, inference. */
    readonly kind: string = 'internal',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes that are not Confluent-framed Avro (wrong magic byte, too short, truncated payload). */
export class PayloadFormatError extends NonRetriableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'payload-format', options);
  }
}

/** A value that does not satisfy its Avro schema, or a writer schema the reader cannot resolve. */
export class SchemaViolationError extends NonRetriableError {
  constructor(
    message: string,
    /** Dotted paths of the offending fields, e.g. ["amount", "merchant.country"]. */
    readonly fields: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, 'schema-violation', options);
  }
}

/** The schema id in the message header is not known to the registry. */
export class UnknownSchemaError extends NonRetriableError {
  constructor(
    readonly schemaId: number,
    options?: { cause?: unknown },
  ) {
    super(`schema id ${schemaId} is not registered`, 'unknown-schema', options);
  }
}

/** Explicitly transient (a dependency is down, a deadline passed). Retried with backoff. */
export class RetriableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isRetriable(error: unknown): boolean {
  return !(error instanceof NonRetriableError);
}

export function failureKindOf(error: unknown, fallback = 'retries-exhausted'): string {
  return error instanceof NonRetriableError ? error.kind : fallback;
}
