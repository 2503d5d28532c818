import { z } from 'zod';
import type { SchemaReference } from './avro-schema';
import { type CompatibilityLevel, parseCompatibilityLevel } from './compatibility';
import { invalidCompatibilityLevel, invalidSchema, invalidVersion, schemaNotFound } from './schema-registry.errors';

/** What the HTTP layer hands the service: validated shape, schema text not yet parsed as Avro. */
export interface SchemaRequest {
  schema: string;
  references: SchemaReference[];
}

const MAX_INT32 = 2 ** 31 - 1;

const ReferenceBody = z.object({
  name: z.string().min(1),
  subject: z.string().min(1),
  version: z.number().int().min(1).max(MAX_INT32),
});

const SchemaBody = z.object({
  schema: z.string().trim().min(1),
  // Confluent clients send null or omit it for Avro.
  schemaType: z.string().nullish(),
  references: z.array(ReferenceBody).nullish(),
});

/** Body of POST /subjects/{s}/versions, POST /subjects/{s} and POST /compatibility/...; anything unusable is a 42201. */
export function parseSchemaRequest(body: unknown): SchemaRequest {
  const parsed = SchemaBody.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw invalidSchema(
      `the request body must be {"schema": "<Avro schema as a JSON string>"} (${problems.join('; ')})`,
    );
  }
  const { schema, schemaType, references } = parsed.data;
  if (schemaType && schemaType.toUpperCase() !== 'AVRO') {
    throw invalidSchema(`schemaType ${schemaType} is not supported; this registry only stores AVRO schemas`);
  }
  return { schema, references: references ?? [] };
}

/** A path's version: 1..2^31-1, or "latest" (Confluent also accepts -1 for latest). */
export function parseVersion(raw: string): number | 'latest' {
  if (raw === 'latest' || raw === '-1') return 'latest';
  if (!/^[0-9]+$/.test(raw)) throw invalidVersion(raw);
  const version = Number(raw);
  if (version < 1 || version > MAX_INT32) throw invalidVersion(raw);
  return version;
}

/** A path's schema id; an id that cannot exist is simply not found. */
export function parseSchemaId(raw: string): number {
  const id = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_INT32) throw schemaNotFound();
  return id;
}

/** Body of PUT /config and PUT /config/{subject}: {"compatibility": "BACKWARD"}. */
export function parseCompatibilityBody(body: unknown): CompatibilityLevel {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).compatibility : undefined;
  const level = parseCompatibilityLevel(value);
  if (!level) throw invalidCompatibilityLevel(value);
  return level;
}

/** Query flags such as ?deleted=true, ?permanent=true, ?verbose=true. */
export function isTrue(flag: unknown): boolean {
  return typeof flag === 'string' && flag.toLowerCase() === 'true';
}
