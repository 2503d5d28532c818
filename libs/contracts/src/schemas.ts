/**
 * The Avro schemas of ../schemas, loaded from disk (the build copies .avsc files next to the compiled
 * code, so `__dirname/../schemas` holds in source and in dist alike).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Schema, Type } from 'avsc';
import { type TopicSpec, topicSpec } from './topics';

export const SCHEMAS_DIR = resolve(__dirname, '..', 'schemas');

/**
 * A parsed .avsc document: a named record schema. A type alias, not an interface, so it is assignable to
 * `Record<string, unknown>` (what schema-registry clients and libs/kafka's SchemaResolver take).
 */
export type RecordSchema = {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly doc?: string;
  readonly fields: ReadonlyArray<{
    readonly name: string;
    readonly type: unknown;
    readonly doc?: string;
    readonly default?: unknown;
  }>;
};

/**
 * Options every reader and writer should give avsc for these schemas. No `logicalTypes`: times stay
 * epoch-millis numbers and uuids stay strings (see types.ts). `wrapUnions: 'auto'` is avsc's default,
 * spelled out because the TS types assume `["null", T]` unions decode unwrapped to `T | null`.
 */
export const avroTypeOptions = Object.freeze({ wrapUnions: 'auto' as const });

let schemaFiles: ReadonlyMap<string, RecordSchema> | undefined;

function fullName(schema: RecordSchema): string {
  return schema.namespace && !schema.name.includes('.') ? `${schema.namespace}.${schema.name}` : schema.name;
}

/** Every .avsc under schemas/, by file name; read once. */
export function loadSchemaFiles(): ReadonlyMap<string, RecordSchema> {
  if (schemaFiles) return schemaFiles;
  const files = new Map<string, RecordSchema>();
  for (const file of readdirSync(SCHEMAS_DIR).filter((f) => f.endsWith('.avsc'))) {
    const path = join(SCHEMAS_DIR, file);
    let parsed: RecordSchema;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8')) as RecordSchema;
    } catch (err) {
      throw new Error(`contracts: ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed.type !== 'record') throw new Error(`contracts: ${path} must define a record, got '${parsed.type}'`);
    files.set(file, parsed);
  }
  schemaFiles = files;
  return files;
}

function schemaOf(spec: TopicSpec): RecordSchema {
  const schema = loadSchemaFiles().get(spec.valueSchema);
  if (!schema)
    throw new Error(`contracts: schema file ${spec.valueSchema} of topic ${spec.name} is missing in ${SCHEMAS_DIR}`);
  if (fullName(schema) !== spec.valueRecord) {
    throw new Error(`contracts: ${spec.valueSchema} defines ${fullName(schema)}, catalog expects ${spec.valueRecord}`);
  }
  return schema;
}

/**
 * The value schema of a topic as parsed JSON (a fresh copy: safe to mutate or hand to a registry client).
 * Prefixed topic names are accepted; DLQs return the DeadLetter schema.
 */
export function schemaFor(topic: string): RecordSchema {
  return structuredClone(schemaOf(topicSpec(topic)));
}

/** The value schema of a topic as canonical-ish JSON text (what a schema registry stores). */
export function schemaTextFor(topic: string): string {
  return JSON.stringify(schemaOf(topicSpec(topic)));
}

const typeCache = new Map<string, Type>();

/** avsc Type of a file's schema; one Type per file, so topics sharing a file share a Type. */
function typeOfFile(spec: TopicSpec): Type {
  let type = typeCache.get(spec.valueSchema);
  if (!type) {
    // a fresh registry per file: files redeclare shared named types (e.g. Channel) independently
    type = Type.forSchema(schemaOf(spec) as unknown as Schema, { ...avroTypeOptions, registry: {} });
    typeCache.set(spec.valueSchema, type);
  }
  return type;
}

/** avsc Type of a topic's value (cached). Prefixed topic names are accepted. */
export function avroTypeFor(topic: string): Type {
  return typeOfFile(topicSpec(topic));
}

/** Schema-registry subject of a topic's value: TopicNameStrategy, `<topic>-value` (prefix included). */
export function subjectFor(topic: string): string {
  return `${topic}-value`;
}

/**
 * Throws unless data written with `writer` can be read with `reader` (Avro schema resolution): the
 * BACKWARD rule when `reader` is the new version and `writer` the old one. Same check a
 * Confluent-compatible registry makes for BACKWARD compatibility of consecutive versions.
 */
export function assertCanRead(reader: object, writer: object): void {
  const r = Type.forSchema(reader as Schema, { ...avroTypeOptions, registry: {} });
  const w = Type.forSchema(writer as Schema, { ...avroTypeOptions, registry: {} });
  r.createResolver(w);
}
