import { createHash } from 'node:crypto';
import avro from 'avsc';

/** avsc's table of named types by full name; a schema's references are parsed into it before the schema itself. */
export type AvroRegistry = Record<string, avro.Type>;

/** A Confluent schema reference: `name` is the type name used in the schema, subject/version say where it lives. */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface ParsedAvroSchema {
  type: avro.Type;
  /** Identity of the schema, see `canonicalForm`. */
  canonical: string;
}

/** The text is not a valid Avro schema (bad JSON, unknown type, default not matching its type, ...). */
export class AvroSchemaError extends Error {
  override name = 'AvroSchemaError';
}

/**
 * Parses and validates an Avro schema with avsc (which also checks that field defaults match their types) and
 * returns its canonical form. Types defined in `registry` (the schema's references) can be used by name.
 */
export function parseAvroSchema(text: string, registry: AvroRegistry = {}): ParsedAvroSchema {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AvroSchemaError(`not valid JSON (${messageOf(error)})`);
  }
  // Before avsc sees the object, so nothing it might attach to the JSON can leak into the identity.
  const canonical = canonicalForm(json);
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(json as avro.Schema, { registry });
  } catch (error) {
    throw new AvroSchemaError(messageOf(error));
  }
  return { type, canonical };
}

/** Global identity of a schema: same canonical text, type and references ⇒ same id, under any subject. */
export function schemaFingerprint(canonical: string, references: readonly SchemaReference[]): string {
  const identity = JSON.stringify({ schemaType: 'AVRO', schema: canonical, references });
  return createHash('sha256').update(identity).digest('hex');
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);
const COMPLEX = new Set([...NAMED, 'array', 'map']);
/** Avro's Parsing Canonical Form order; any other attribute follows alphabetically. */
const LEADING_KEYS = ['name', 'type', 'fields', 'symbols', 'items', 'values', 'size'];

/**
 * Avro's Parsing Canonical Form (full names, `{"type":"int"}` ≡ `"int"`, no whitespace, fixed key order),
 * except that every other attribute is kept, in sorted order. Parsing Canonical Form drops field defaults,
 * aliases, enum defaults and logical types; all of them change how data resolves, so a schema that only adds a
 * default must be a new version, not "the same schema" (Confluent also treats it as a new schema). avsc's
 * `getSchema()` cannot be used for this: it drops logical types and enum defaults even with `exportAttrs`.
 */
export function canonicalForm(schema: unknown): string {
  return JSON.stringify(canonicalize(schema, ''));
}

function canonicalize(node: unknown, namespace: string): unknown {
  if (typeof node === 'string') return PRIMITIVES.has(node) ? node : qualify(node, namespace);
  if (Array.isArray(node)) return node.map((branch) => canonicalize(branch, namespace));
  if (!isObject(node)) return node;

  const { type, namespace: ownNamespace, name, fields, items, values, aliases, ...rest } = node;
  if (typeof type === 'string' && PRIMITIVES.has(type) && Object.keys(node).length === 1) return type;

  const out: Record<string, unknown> = { ...rest };
  let inner = namespace;
  if (typeof type === 'string' && NAMED.has(type) && typeof name === 'string') {
    const fullName = qualify(name, typeof ownNamespace === 'string' ? ownNamespace : namespace);
    inner = namespaceOf(fullName);
    out.name = fullName;
    // Aliases of a named type are names too: relative to the type's own namespace.
    if (Array.isArray(aliases))
      out.aliases = aliases.map((alias) => (typeof alias === 'string' ? qualify(alias, inner) : alias));
  } else {
    if (name !== undefined) out.name = name;
    if (aliases !== undefined) out.aliases = aliases;
    if (ownNamespace !== undefined) out.namespace = ownNamespace;
  }
  out.type =
    typeof type === 'string' && (PRIMITIVES.has(type) || COMPLEX.has(type)) ? type : canonicalize(type, namespace);
  if (Array.isArray(fields)) out.fields = fields.map((field) => canonicalizeField(field, inner));
  else if (fields !== undefined) out.fields = fields;
  // Arrays and maps are anonymous: their items resolve names in the enclosing namespace.
  if (items !== undefined) out.items = canonicalize(items, namespace);
  if (values !== undefined) out.values = canonicalize(values, namespace);
  return ordered(out);
}

function canonicalizeField(field: unknown, namespace: string): unknown {
  if (!isObject(field)) return field;
  const { type, ...rest } = field;
  return ordered({ ...rest, type: canonicalize(type, namespace) });
}

/** Known keys in canonical order, then the rest sorted; nested plain values (defaults, custom props) sorted too. */
function ordered(object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of LEADING_KEYS) if (object[key] !== undefined) out[key] = object[key];
  for (const key of Object.keys(object).sort()) {
    if (!LEADING_KEYS.includes(key) && object[key] !== undefined) out[key] = sortKeys(object[key]);
  }
  return out;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key])]),
  );
}

/** A short name lives in the enclosing namespace (avsc, like the spec, does not fall back to the null namespace). */
function qualify(name: string, namespace: string): string {
  return name.includes('.') || !namespace ? name : `${namespace}.${name}`;
}

function namespaceOf(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? '' : fullName.slice(0, dot);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
