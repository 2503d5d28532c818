import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { PayloadFormatError, RetriableError, SchemaViolationError, UnknownSchemaError } from '../errors';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body. */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

export type AvroSchema = Record<string, unknown>;
/** Maps a topic to the schema its values are written with (the contract in libs/contracts). */
export type SchemaResolver = (topic: string) => AvroSchema;

interface WriterEntry {
  id: number;
  type: avro.Type;
}

/**
 * Avro serde through a Confluent-compatible schema registry. Registration and schema lookups go through
 * @kafkajs/confluent-schema-registry (which caches by id); the per-message work is done here with avsc
 * types built once, because the library re-parses a reader schema on every decode call.
 *
 * Decoding resolves the writer's schema into the reader's contract schema, so a consumer keeps working
 * when producers move to a newer compatible version.
 */
export class AvroSerde {
  private readonly writers = new Map<string, WriterEntry>();
  private readonly pendingRegistrations = new Map<string, Promise<WriterEntry>>();
  private readonly readers = new Map<string, avro.Type>();
  private readonly resolvers = new Map<string, { type: avro.Type; resolver?: avro.Resolver }>();
  private scratch = Buffer.allocUnsafe(64 * 1024);

  constructor(
    readonly registry: SchemaRegistry,
    private readonly schemaFor: SchemaResolver,
  ) {}

  static connect(url: string, schemaFor: SchemaResolver): AvroSerde {
    return new AvroSerde(new SchemaRegistry({ host: url, retry: { retries: 2 } }), schemaFor);
  }

  /** Registers the topic's contract schema under the `<topic>-value` subject (idempotent) and caches its id. */
  async register(topic: string): Promise<number> {
    return (await this.writerFor(topic)).id;
  }

  private writerFor(topic: string): Promise<WriterEntry> {
    const known = this.writers.get(topic);
    if (known) return Promise.resolve(known);
    let pending = this.pendingRegistrations.get(topic);
    if (!pending) {
      pending = this.registerNow(topic).finally(() => this.pendingRegistrations.delete(topic));
      this.pendingRegistrations.set(topic, pending);
    }
    return pending;
  }

  private async registerNow(topic: string): Promise<WriterEntry> {
    const schema = this.schemaFor(topic);
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject: `${topic}-value` },
      );
      const entry = { id, type: this.readerType(topic) };
      this.writers.set(topic, entry);
      return entry;
    } catch (error) {
      if (statusOf(error) === 409) {
        throw new SchemaViolationError(`schema for ${topic} is incompatible with the registered versions`, [], {
          cause: error,
        });
      }
      throw new RetriableError(`schema registry unavailable while registering ${topic}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  /** Encodes for a topic whose schema is already registered (call `register` once at start-up). */
  encode(topic: string, value: unknown): Buffer {
    const writer = this.writers.get(topic);
    if (!writer) throw new Error(`schema for topic ${topic} is not registered yet; call register() first`);
    let end: number;
    try {
      end = this.encodeIntoScratch(writer.type, value);
    } catch (error) {
      const fields = invalidPaths(writer.type, value);
      throw new SchemaViolationError(
        `value does not match ${writer.type.name ?? topic}: ${fields.length ? `invalid ${fields.join(', ')}` : messageOf(error)}`,
        fields,
        { cause: error },
      );
    }
    // One allocation and one copy per message: header and body are written next to each other in scratch.
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    out.writeUInt8(MAGIC_BYTE, 0);
    out.writeInt32BE(writer.id, 1);
    return out;
  }

  /** Writes the Avro body at offset 5 of the scratch buffer (grown when a value does not fit); returns its end. */
  private encodeIntoScratch(type: avro.Type, value: unknown): number {
    for (;;) {
      const end = type.encode(value, this.scratch, HEADER_BYTES);
      if (end >= 0) return end;
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.scratch.length - end));
    }
  }

  async encodeAsync(topic: string, value: unknown): Promise<Buffer> {
    await this.writerFor(topic);
    return this.encode(topic, value);
  }

  /**
   * Decodes a Confluent-framed message into the reader schema of `topic`. Throws PayloadFormatError,
   * UnknownSchemaError or SchemaViolationError (the message's fault) or RetriableError (registry down).
   */
  async decode<T = unknown>(topic: string, buffer: Buffer | null): Promise<T> {
    if (!buffer || buffer.length < HEADER_BYTES) {
      throw new PayloadFormatError(`message is ${buffer ? `${buffer.length} bytes` : 'empty'}; not Confluent Avro`);
    }
    if (buffer.readUInt8(0) !== MAGIC_BYTE) {
      throw new PayloadFormatError(
        `unknown magic byte ${buffer.readUInt8(0)}; expected ${MAGIC_BYTE} (Confluent Avro)`,
      );
    }
    const schemaId = buffer.readInt32BE(1);
    const { type, resolver } = await this.resolverFor(topic, schemaId);
    try {
      return type.fromBuffer(buffer.subarray(HEADER_BYTES), resolver) as T;
    } catch (error) {
      throw new PayloadFormatError(`Avro body does not decode with schema id ${schemaId}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private async resolverFor(topic: string, schemaId: number) {
    const key = `${topic}\u0000${schemaId}`;
    const cached = this.resolvers.get(key);
    if (cached) return cached;
    const reader = this.readerType(topic);
    const own = this.writers.get(topic);
    let entry: { type: avro.Type; resolver?: avro.Resolver };
    if (own?.id === schemaId) {
      entry = { type: reader };
    } else {
      const writer = await this.fetchSchema(schemaId);
      try {
        // Same schema as the contract (the common case for a consumer): decode directly, no resolver.
        entry = reader.equals(writer) ? { type: reader } : { type: reader, resolver: reader.createResolver(writer) };
      } catch (error) {
        throw new SchemaViolationError(
          `writer schema ${schemaId} cannot be read as ${reader.name}: ${messageOf(error)}`,
          [],
          { cause: error },
        );
      }
    }
    this.resolvers.set(key, entry);
    return entry;
  }

  private async fetchSchema(schemaId: number): Promise<avro.Type> {
    try {
      return (await this.registry.getSchema(schemaId)) as unknown as avro.Type;
    } catch (error) {
      // 404 (Confluent 40403) is the message's fault; anything else means the registry is unreachable.
      if (statusOf(error) === 404) throw new UnknownSchemaError(schemaId, { cause: error });
      throw new RetriableError(`schema registry unavailable fetching id ${schemaId}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  private readerType(topic: string): avro.Type {
    let type = this.readers.get(topic);
    if (!type) {
      type = avro.Type.forSchema(this.schemaFor(topic) as avro.Schema);
      this.readers.set(topic, type);
    }
    return type;
  }
}

function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') });
  return paths;
}

function statusOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
