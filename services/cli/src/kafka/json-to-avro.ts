import { avroTypeFor, schemaFor } from '@flywheel/contracts';
import type { Type } from 'avsc';

/** One thing wrong with one input record, by field path. */
export interface FieldProblem {
  path: string;
  message: string;
}

type SchemaNode = unknown;

/**
 * Turns a JSON object (a line of NDJSON) into the value the topic's Avro contract expects, so people can write
 * what they would naturally write:
 * - a missing field gets its schema default, and a missing nullable field null;
 * - a `timestamp-millis` field takes epoch millis or an ISO-8601 date-time string;
 * - a `bytes` field takes a base64 string (what `flywheel consume` prints for bytes).
 * Anything else is passed through unchanged and judged by `problemsOf`.
 */
export function jsonToAvro(topic: string, value: unknown): unknown {
  return convert(schemaFor(topic), value, new Map());
}

function convert(schema: SchemaNode, value: unknown, named: Map<string, SchemaNode>): unknown {
  if (Array.isArray(schema)) return convertUnion(schema, value, named);
  if (typeof schema === 'string') {
    const reference = named.get(schema);
    if (reference) return convert(reference, value, named);
    if (schema === 'bytes' && typeof value === 'string') return Buffer.from(value, 'base64');
    return value;
  }
  if (typeof schema !== 'object' || schema === null) return value;
  const node = schema as {
    type: SchemaNode;
    name?: string;
    namespace?: string;
    logicalType?: string;
    fields?: Array<{ name: string; type: SchemaNode; default?: unknown }>;
    items?: SchemaNode;
    values?: SchemaNode;
  };
  if (node.name) {
    named.set(node.name, node);
    if (node.namespace && !node.name.includes('.')) named.set(`${node.namespace}.${node.name}`, node);
  }
  switch (node.type) {
    case 'record': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = { ...value };
      for (const field of node.fields ?? []) {
        let v = value[field.name];
        if (v === undefined && 'default' in field) v = structuredClone(field.default);
        out[field.name] = convert(field.type, v, named);
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((item) => convert(node.items, item, named)) : value;
    case 'map':
      return isPlainObject(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(node.values, v, named)]))
        : value;
    case 'long':
      if (node.logicalType === 'timestamp-millis' && typeof value === 'string') {
        const millis = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
        return Number.isNaN(millis) ? value : millis;
      }
      return value;
    default:
      return typeof node.type === 'string' && node.type !== 'enum' && node.type !== 'fixed'
        ? convert(node.type, value, named)
        : value;
  }
}

/** `["null", T]`: absent → null; otherwise the first branch whose conversion the value fits. */
function convertUnion(branches: SchemaNode[], value: unknown, named: Map<string, SchemaNode>): unknown {
  if (value === undefined || value === null) return branches.includes('null') ? null : value;
  const others = branches.filter((b) => b !== 'null');
  return others.length === 1 ? convert(others[0], value, named) : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/**
 * Every field of `value` that the topic's contract refuses, including fields the contract does not have (a
 * typo like `ammount` would otherwise be dropped silently by the encoder).
 */
export function problemsOf(topic: string, value: unknown): FieldProblem[] {
  const type = avroTypeFor(topic);
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  const hook = (path: string[], got: unknown, expected: Type) => {
    const problem = { path: path.join('.') || '(record)', message: explain(got, expected) };
    const key = `${problem.path}\u0000${problem.message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  };
  // avsc stops at a record with undeclared fields, so field errors and unknown fields are two passes
  type.isValid(value, { errorHook: hook });
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (path, got, expected) => {
      if ((expected as Type & { typeName?: string }).typeName === 'record') hook(path, got, expected);
    },
  });
  return problems;
}

function explain(got: unknown, expected: Type): string {
  const t = expected as Type & { typeName?: string; symbols?: string[]; fields?: Array<{ name: string }> };
  if (t.typeName === 'record' && isPlainObject(got)) {
    const known = new Set((t.fields ?? []).map((f) => f.name));
    const unknown = Object.keys(got).filter((k) => !known.has(k));
    if (unknown.length) return `unknown field(s) ${unknown.join(', ')} (not in the contract)`;
  }
  if (got === undefined) return `missing required field (${label(t)})`;
  return `expected ${label(t)}, got ${describe(got)}`;
}

function label(t: Type & { typeName?: string; symbols?: string[] }): string {
  if (t.symbols) return `one of ${t.symbols.join('|')}`;
  return t.typeName ?? 'a value of the contract';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Buffer.isBuffer(value)) return `${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
