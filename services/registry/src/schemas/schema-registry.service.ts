import { Injectable } from '@nestjs/common';
import type avro from 'avsc';
import { DataSource, type EntityManager } from 'typeorm';
import {
  type AvroRegistry,
  AvroSchemaError,
  parseAvroSchema,
  type SchemaReference,
  schemaFingerprint,
} from './avro-schema';
import {
  type CompatibilityLevel,
  type CompatibilityResult,
  checkCompatibility,
  versionsToCheck,
} from './compatibility';
import { CompatibilityConfigService } from './compatibility-config.service';
import type { SchemaRequest } from './requests';
import { SchemaEntity } from './schema.entity';
import {
  incompatibleSchema,
  invalidSchema,
  schemaNotFound,
  subjectNotFound,
  subjectNotSoftDeleted,
  subjectSoftDeleted,
  versionNotFound,
  versionNotSoftDeleted,
  versionSoftDeleted,
} from './schema-registry.errors';
import { SchemaRegistryMetrics } from './schema-registry.metrics';
import { SubjectVersionEntity } from './subject-version.entity';

export interface SchemaView {
  schema: string;
  /** Confluent omits it for AVRO. */
  schemaType?: string;
  references?: SchemaReference[];
}

export interface SubjectVersionView extends SchemaView {
  subject: string;
  id: number;
  version: number;
}

/** A schema from a request, parsed and identified, not stored yet. */
interface Candidate {
  type: avro.Type;
  schema: string;
  fingerprint: string;
  canonical: string;
  references: SchemaReference[];
}

/**
 * Postgres advisory locks are keyed by (class, key); this class keeps the per-subject locks apart from any other
 * advisory lock taken in the same database.
 */
const SUBJECT_LOCK_CLASS = 0x5352;
/** Parsed types by schema id (ids are immutable). Bounded so a registry with many schemas stays small. */
const TYPE_CACHE_SIZE = 1_000;

@Injectable()
export class SchemaRegistryService {
  private readonly typeCache = new Map<number, avro.Type>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly configs: CompatibilityConfigService,
    private readonly metrics: SchemaRegistryMetrics,
  ) {}

  async listSubjects(includeDeleted: boolean): Promise<string[]> {
    const query = this.dataSource.manager
      .createQueryBuilder(SubjectVersionEntity, 'v')
      .select('DISTINCT v.subject', 'subject')
      .orderBy('subject');
    if (!includeDeleted) query.where('v.deleted = false');
    const rows = await query.getRawMany<{ subject: string }>();
    return rows.map((row) => row.subject);
  }

  async listVersions(subject: string, includeDeleted: boolean): Promise<number[]> {
    const rows = await this.versionsOf(subject, includeDeleted);
    if (rows.length === 0) throw subjectNotFound(subject);
    return rows.map((row) => row.version);
  }

  async getVersion(subject: string, version: number | 'latest', includeDeleted: boolean): Promise<SubjectVersionView> {
    const rows = await this.versionsOf(subject, includeDeleted);
    const row = findVersion(rows, version);
    this.metrics.lookup('subject_version', row !== undefined);
    if (rows.length === 0) throw subjectNotFound(subject);
    if (!row) throw versionNotFound(version);
    return toVersionView(row);
  }

  /**
   * Registers `request` under `subject` and returns its global id. Idempotent: a schema already live under the
   * subject returns its id; a schema known under another subject reuses that id. The subject's versions are read,
   * checked and extended under a per-subject transaction lock, so concurrent registrations (from any number of
   * processes) cannot create two versions of one schema or skip the compatibility check against each other; the
   * unique fingerprint makes one schema get one id even when two subjects register it at the same moment.
   */
  async register(subject: string, request: SchemaRequest): Promise<{ id: number }> {
    const candidate = await this.parseCandidate(request);
    const { id, created } = await this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SUBJECT_LOCK_CLASS, subject]);
      const live = await this.versionsOf(subject, false, manager);
      const same = live.find((row) => row.schema.fingerprint === candidate.fingerprint);
      if (same) return { id: same.schemaId, created: false };

      const level = await this.configs.effectiveLevel(subject, manager);
      const verdict = await this.check(level, candidate.type, versionsToCheck(level, live), manager);
      if (!verdict.isCompatible) {
        this.metrics.compatibilityFailures.inc({ operation: 'register' });
        throw incompatibleSchema(subject, level, verdict.messages);
      }
      const schemaId = await this.upsertSchema(candidate, manager);
      // Numbers of deleted versions are never reused: a client may still hold "version 3" meaning the old one.
      const { next } = (await manager
        .createQueryBuilder(SubjectVersionEntity, 'v')
        .select('COALESCE(MAX(v.version), 0) + 1', 'next')
        .where('v.subject = :subject', { subject })
        .getRawOne<{ next: number }>())!;
      await manager.insert(SubjectVersionEntity, { subject, version: Number(next), schemaId });
      return { id: schemaId, created: true };
    });
    this.metrics.registrations.inc({ result: created ? 'created' : 'existing' });
    return { id };
  }

  /** POST /subjects/{subject}: is this schema registered under the subject, and as which version? */
  async lookup(subject: string, request: SchemaRequest, includeDeleted: boolean): Promise<SubjectVersionView> {
    const candidate = await this.parseCandidate(request);
    const rows = await this.versionsOf(subject, includeDeleted);
    const match = rows.filter((row) => row.schema.fingerprint === candidate.fingerprint).at(-1);
    this.metrics.lookup('subject_schema', match !== undefined);
    if (rows.length === 0) throw subjectNotFound(subject);
    if (!match) throw schemaNotFound();
    return toVersionView(match);
  }

  /**
   * Checks `request` against one version of the subject, or (version undefined) against the versions a
   * registration would be checked against, under the subject's effective level.
   */
  async testCompatibility(
    subject: string,
    version: number | 'latest' | undefined,
    request: SchemaRequest,
  ): Promise<CompatibilityResult> {
    const candidate = await this.parseCandidate(request);
    const live = await this.versionsOf(subject, false);
    const level = await this.configs.effectiveLevel(subject);
    let against: SubjectVersionEntity[];
    if (version === undefined) {
      against = versionsToCheck(level, live);
    } else {
      if (live.length === 0) throw subjectNotFound(subject);
      against = [pickVersion(live, version)];
    }
    const verdict = await this.check(level, candidate.type, against, this.dataSource.manager);
    if (!verdict.isCompatible) this.metrics.compatibilityFailures.inc({ operation: 'check' });
    return verdict;
  }

  /**
   * Soft delete hides every version (ids stay valid: messages already written still decode); permanent delete
   * removes versions that were soft-deleted first, as Confluent requires. Either way the subject's own
   * compatibility level goes with it.
   */
  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SUBJECT_LOCK_CLASS, subject]);
      const rows = await this.versionsOf(subject, true, manager);
      if (rows.length === 0) throw subjectNotFound(subject);
      const live = rows.filter((row) => !row.deleted);
      if (permanent) {
        if (live.length > 0) throw subjectNotSoftDeleted(subject);
        await manager.delete(SubjectVersionEntity, { subject });
      } else {
        if (live.length === 0) throw subjectSoftDeleted(subject);
        await manager.update(SubjectVersionEntity, { subject, deleted: false }, { deleted: true });
      }
      await this.configs.removeSubjectLevel(subject, manager);
      return (permanent ? rows : live).map((row) => row.version);
    });
  }

  async deleteVersion(subject: string, version: number | 'latest', permanent: boolean): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SUBJECT_LOCK_CLASS, subject]);
      const rows = await this.versionsOf(subject, true, manager);
      if (rows.length === 0) throw subjectNotFound(subject);
      // "latest" is the latest live version for a soft delete, the latest soft-deleted one for a permanent delete.
      const row = pickVersion(
        rows.filter((candidate) => version !== 'latest' || candidate.deleted === permanent),
        version,
      );
      if (permanent) {
        if (!row.deleted) throw versionNotSoftDeleted(subject, row.version);
        await manager.delete(SubjectVersionEntity, { subject, version: row.version });
      } else {
        if (row.deleted) throw versionSoftDeleted(subject, row.version);
        await manager.update(SubjectVersionEntity, { subject, version: row.version }, { deleted: true });
      }
      return row.version;
    });
  }

  async getSchema(id: number): Promise<SchemaView> {
    const row = await this.dataSource.manager.findOneBy(SchemaEntity, { id });
    this.metrics.lookup('id', row !== null);
    if (!row) throw schemaNotFound(id);
    return { schema: row.schema, ...schemaExtras(row) };
  }

  /** Where schema `id` is used: every (subject, version) pair. */
  async getSchemaVersions(id: number, includeDeleted: boolean): Promise<Array<{ subject: string; version: number }>> {
    await this.getSchema(id);
    const rows = await this.dataSource.manager.find(SubjectVersionEntity, {
      where: { schemaId: id, ...(includeDeleted ? {} : { deleted: false }) },
      order: { subject: 'ASC', version: 'ASC' },
    });
    return rows.map(({ subject, version }) => ({ subject, version }));
  }

  async getSchemaSubjects(id: number, includeDeleted: boolean): Promise<string[]> {
    const versions = await this.getSchemaVersions(id, includeDeleted);
    return [...new Set(versions.map((entry) => entry.subject))];
  }

  private versionsOf(
    subject: string,
    includeDeleted: boolean,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<SubjectVersionEntity[]> {
    return manager.find(SubjectVersionEntity, {
      where: { subject, ...(includeDeleted ? {} : { deleted: false }) },
      relations: { schema: true },
      order: { version: 'ASC' },
    });
  }

  private async check(
    level: CompatibilityLevel,
    candidate: avro.Type,
    against: readonly SubjectVersionEntity[],
    manager: EntityManager,
  ): Promise<CompatibilityResult> {
    const existing = [];
    for (const row of against) existing.push({ version: row.version, type: await this.typeOf(row.schema, manager) });
    return checkCompatibility(level, candidate, existing);
  }

  private async upsertSchema(candidate: Candidate, manager: EntityManager): Promise<number> {
    // DO UPDATE rather than DO NOTHING so RETURNING yields the id whether this call inserted the row or lost the
    // race to a concurrent registration of the same schema under another subject.
    const result = await manager
      .createQueryBuilder()
      .insert()
      .into(SchemaEntity)
      .values({
        schemaType: 'AVRO',
        schema: candidate.schema,
        canonical: candidate.canonical,
        fingerprint: candidate.fingerprint,
        references: candidate.references,
      })
      .orUpdate(['fingerprint'], ['fingerprint'])
      .returning(['id'])
      .execute();
    return Number((result.raw as Array<{ id: number }>)[0].id);
  }

  private async parseCandidate(request: SchemaRequest): Promise<Candidate> {
    const registry = await this.referencedTypes(request.references, this.dataSource.manager);
    const parsed = asInvalidSchema(() => parseAvroSchema(request.schema, registry));
    return {
      type: parsed.type,
      // Stored and served compact, as Confluent does; identity comes from the canonical form, not this text.
      schema: JSON.stringify(JSON.parse(request.schema)),
      canonical: parsed.canonical,
      fingerprint: schemaFingerprint(parsed.canonical, request.references),
      references: request.references,
    };
  }

  private async typeOf(row: SchemaEntity, manager: EntityManager): Promise<avro.Type> {
    const cached = this.typeCache.get(row.id);
    if (cached) return cached;
    const registry = await this.referencedTypes(row.references, manager);
    const { type } = parseAvroSchema(row.schema, registry);
    if (this.typeCache.size >= TYPE_CACHE_SIZE) this.typeCache.delete(this.typeCache.keys().next().value!);
    this.typeCache.set(row.id, type);
    return type;
  }

  /**
   * The named types a schema's references define, parsed depth-first (a reference's own references first) into
   * one avsc registry, so the schema can use them by name. Soft-deleted versions still resolve: a schema that was
   * valid when registered stays readable.
   */
  private async referencedTypes(
    references: readonly SchemaReference[],
    manager: EntityManager,
    registry: AvroRegistry = {},
    seen = new Set<string>(),
  ): Promise<AvroRegistry> {
    for (const reference of references) {
      const key = JSON.stringify([reference.subject, reference.version]);
      if (seen.has(key)) continue;
      seen.add(key);
      const row = await manager.findOne(SubjectVersionEntity, {
        where: { subject: reference.subject, version: reference.version },
        relations: { schema: true },
      });
      if (!row) {
        throw invalidSchema(
          `reference '${reference.name}' points to subject '${reference.subject}' version ${reference.version}, which does not exist`,
        );
      }
      await this.referencedTypes(row.schema.references, manager, registry, seen);
      asInvalidSchema(() => parseAvroSchema(row.schema.schema, registry));
    }
    return registry;
  }
}

function findVersion(
  rows: readonly SubjectVersionEntity[],
  version: number | 'latest',
): SubjectVersionEntity | undefined {
  return version === 'latest' ? rows.at(-1) : rows.find((row) => row.version === version);
}

function pickVersion(rows: readonly SubjectVersionEntity[], version: number | 'latest'): SubjectVersionEntity {
  const row = findVersion(rows, version);
  if (!row) throw versionNotFound(version);
  return row;
}

function toVersionView(row: SubjectVersionEntity): SubjectVersionView {
  return {
    subject: row.subject,
    id: row.schemaId,
    version: row.version,
    schema: row.schema.schema,
    ...schemaExtras(row.schema),
  };
}

function schemaExtras(row: SchemaEntity): Pick<SchemaView, 'schemaType' | 'references'> {
  return {
    ...(row.schemaType !== 'AVRO' ? { schemaType: row.schemaType } : {}),
    ...(row.references.length > 0 ? { references: row.references } : {}),
  };
}

function asInvalidSchema<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof AvroSchemaError) throw invalidSchema(error.message);
    throw error;
  }
}
