import { failureKinds } from '@flywheel/contracts';

/**
 * How a failure is handled is decided by its class: a NonRetriableError is the message's fault (it goes to
 * the DLQ at once, the consumer moves on); anything else is assumed transient and is retried with backoff
 * before the message is dead-lettered.
 */
export class NonRetriableError extends Error {
  constructor(
    message: string,
    /** DLQ failure kind, e.g. payload-format, schema-violation, enrichment, feature, inference. */
    readonly kind: string = failureKinds.internal,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bytes that are not Confluent-framed Avro (wrong magic byte, too short, truncated payload). */
export class PayloadFormatError extends NonRetriableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, failureKinds.payloadFormat, options);
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
    super(message, failureKinds.schemaViolation, options);
  }
}

/** The schema id in the message header is not known to the registry. */
export class UnknownSchemaError extends NonRetriableError {
  constructor(
    readonly schemaId: number,
    options?: { cause?: unknown },
  ) {
    super(`schema id ${schemaId} is not registered`, failureKinds.schemaViolation, options);
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

/** A retriable error that outlived every attempt counts as a timeout of whatever it waited for. */
export function failureKindOf(error: unknown, fallback: string = failureKinds.timeout): string {
  return error instanceof NonRetriableError ? error.kind : fallback;
}
