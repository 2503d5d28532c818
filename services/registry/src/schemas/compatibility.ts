import type avro from 'avsc';

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** Case-insensitive, as Confluent accepts "backward"; undefined for anything that is not a level. */
export function parseCompatibilityLevel(value: unknown): CompatibilityLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return (COMPATIBILITY_LEVELS as readonly string[]).includes(upper) ? (upper as CompatibilityLevel) : undefined;
}

export interface ExistingSchema {
  version: number;
  type: avro.Type;
}

export interface CompatibilityResult {
  isCompatible: boolean;
  /** One line per failed check, naming the version, the direction and avsc's reason. */
  messages: string[];
}

/** The versions a new schema is checked against: none for NONE, all live ones if transitive, else the latest. */
export function versionsToCheck<T>(level: CompatibilityLevel, existing: readonly T[]): T[] {
  if (level === 'NONE') return [];
  return level.endsWith('_TRANSITIVE') ? [...existing] : existing.slice(-1);
}

/**
 * Decides whether `candidate` may follow `existing` (the subject's live versions, oldest first) under `level`,
 * by Avro schema resolution rather than by comparing text:
 * - BACKWARD: consumers on the new schema can read data written with the old one (reader = new);
 * - FORWARD: consumers still on the old schema can read data written with the new one (reader = old);
 * - FULL: both. Without _TRANSITIVE only the latest version is checked, with it every live version.
 */
export function checkCompatibility(
  level: CompatibilityLevel,
  candidate: avro.Type,
  existing: readonly ExistingSchema[],
): CompatibilityResult {
  const against = versionsToCheck(level, existing);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const previous of against) {
    if (backward) {
      const reason = cannotRead(candidate, previous.type);
      if (reason) messages.push(`the new schema cannot read data written with version ${previous.version}: ${reason}`);
    }
    if (forward) {
      const reason = cannotRead(previous.type, candidate);
      if (reason) messages.push(`version ${previous.version} cannot read data written with the new schema: ${reason}`);
    }
  }
  return { isCompatible: messages.length === 0, messages };
}

/**
 * Why `reader` cannot resolve data written with `writer`, or undefined when it can. avsc's createResolver
 * applies the Avro resolution rules (field defaults, promotions, union branches, enum symbols/defaults, aliases)
 * and throws when they fail. Namespaces are ignored when matching named types, as Avro's Java
 * SchemaCompatibility (what Confluent runs) compares unqualified names.
 */
export function cannotRead(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer, { ignoreNamespaces: true });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
