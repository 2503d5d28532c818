import { createHash, randomUUID } from 'node:crypto';
import type {
  Baseline,
  ModelChange,
  ModelLifecycle,
  ModelStage,
  ModelTrained,
  ModelVersionRef,
} from '@flywheel/contracts';
import { ConflictException, Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';
import { ModelRegistryMetrics } from './model-registry.metrics';
import type { CreateVersionRequest } from './model-requests';
import { artifactUri, MODELS_OPTIONS, type ModelsOptions } from './models.tokens';
import { decidePromotion } from './promotion-policy';

const s = `"${DATABASE_SCHEMA}"`;

/** The alias that always names the Production version (kept by the registry, see README). */
export const CHAMPION = 'champion';

interface VersionRow {
  model_name: string;
  version: number;
  stage: ModelStage;
  artifact_sha256: string;
  size_bytes: string | number;
  feature_set_version: string;
  feature_names: string[];
  metrics: Record<string, number>;
  baseline?: Baseline;
  training_window_start: string | number;
  training_window_end: string | number;
  parent_version: number | null;
  retrain_request_id: string | null;
  run_id: string | null;
  description: string | null;
  created_by: string;
  created_at: string | number;
  stage_changed_at: string | number;
}

export interface VersionView {
  model_name: string;
  version: number;
  stage: ModelStage;
  aliases: string[];
  artifact_uri: string;
  artifact_sha256: string;
  artifact_size_bytes: number;
  feature_set_version: string;
  feature_names: string[];
  metrics: Record<string, number>;
  baseline?: Baseline;
  training_window_start: number;
  training_window_end: number;
  parent_version: number | null;
  retrain_request_id: string | null;
  run_id: string | null;
  description: string | null;
  created_by: string;
  created_at: number;
  stage_changed_at: number;
}

export interface ModelView {
  name: string;
  latest_version: number | null;
  production_version: number | null;
  aliases: Record<string, number>;
  created_at: number;
  updated_at: number;
}

export interface HistoryEntry {
  change_id: string;
  version: number;
  change: ModelChange;
  alias: string | null;
  from_stage: ModelStage | null;
  to_stage: ModelStage | null;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string | null;
  changed_at: number;
}

interface HistoryInput extends Omit<HistoryEntry, 'alias' | 'from_stage' | 'to_stage' | 'from_version' | 'to_version'> {
  alias?: string | null;
  from_stage?: ModelStage | null;
  to_stage?: ModelStage | null;
  from_version?: number | null;
  to_version?: number | null;
}

/** One write: its change id (the outbox row's and the event's), the actor and the commit time. */
interface Change {
  id: string;
  actor: string;
  at: number;
}

const VERSION_COLUMNS = `v.model_name, v.version, v.stage, v.artifact_sha256, a.size_bytes, v.feature_set_version,
  v.feature_names, v.metrics, v.training_window_start, v.training_window_end, v.parent_version, v.retrain_request_id,
  v.run_id, v.description, v.created_by, v.created_at, v.stage_changed_at`;

/**
 * The model registry's state in Postgres (schema `registry`). Every write runs in one transaction that locks the
 * model's row, applies the change, appends the history and writes the lifecycle event (with the model's full state
 * after the change) to the outbox; the relay sends it after the commit.
 */
@Injectable()
export class ModelRegistryService {
  private readonly commitListeners: Array<() => void> = [];

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: ModelRegistryMetrics,
    @Inject(MODELS_OPTIONS) private readonly options: ModelsOptions,
  ) {}

  /** Called after every committed change (the relay kicks itself). */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  // ---------------------------------------------------------------------------------------------- artifacts

  /** Stores bytes under their sha256; `created` false when they were already there (idempotent re-upload). */
  async putArtifact(
    claimedSha256: string,
    bytes: Buffer,
    contentType: string,
  ): Promise<{ created: boolean; size: number }> {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== claimedSha256) {
      throw new UnprocessableEntityException(`sha256 of the body is ${actual}, not ${claimedSha256}`);
    }
    const rows = await this.dataSource.query(
      `INSERT INTO ${s}.model_artifacts (sha256, bytes, size_bytes, content_type) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING RETURNING sha256`,
      [actual, bytes, bytes.length, contentType],
    );
    return { created: rowsOf(rows).length === 1, size: bytes.length };
  }

  async getArtifact(sha256: string): Promise<{ bytes: Buffer; contentType: string }> {
    const rows = await this.dataSource.query(`SELECT bytes, content_type FROM ${s}.model_artifacts WHERE sha256 = $1`, [
      sha256,
    ]);
    if (rows.length === 0) throw new NotFoundException(`no artifact ${sha256}`);
    return { bytes: rows[0].bytes, contentType: rows[0].content_type };
  }

  // ---------------------------------------------------------------------------------------------- writes

  /** POST /v1/models/{name}/versions. A repeated run_id returns the version it created (`created` false). */
  async createVersion(
    name: string,
    request: CreateVersionRequest,
    actor: string,
  ): Promise<{ created: boolean; version: VersionView }> {
    const outcome = await this.write(name, actor, true, async (m, change) => {
      const existing = request.run_id ? await this.versionByRunId(m, request.run_id) : undefined;
      if (existing) return { created: false, version: existing.version };
      const version = await this.insertVersion(m, name, request, change);
      this.metrics.versionsRegistered.inc({ source: 'api' });
      return { created: true, version };
    });
    return { created: outcome.created, version: await this.getVersion(name, outcome.version) };
  }

  /**
   * A models.trained.v1 candidate: register it, move it to Staging, and promote it when the policy says so, in one
   * transaction (three lifecycle events). A run_id seen before changes nothing (redelivery).
   */
  async registerTrained(event: ModelTrained): Promise<{ duplicate: boolean; version: number; promoted: boolean }> {
    return this.write(event.model_name, 'registry', true, async (m, change) => {
      const existing = await this.versionByRunId(m, event.run_id);
      if (existing) return { duplicate: true, version: existing.version, promoted: false };
      const version = await this.insertVersion(
        m,
        event.model_name,
        {
          artifact_sha256: event.artifact_sha256,
          feature_set_version: event.feature_set_version,
          feature_names: event.feature_names,
          metrics: event.metrics,
          baseline: event.baseline,
          training_window_start: event.training_window_start,
          training_window_end: event.training_window_end,
          parent_version: event.parent_version,
          retrain_request_id: event.retrain_request_id,
          run_id: event.run_id,
          description: null,
        },
        change,
        `models.trained.v1 run ${event.run_id}`,
      );
      this.metrics.versionsRegistered.inc({ source: 'event' });

      const production = await this.productionRow(m, event.model_name);
      const decision = decidePromotion(
        this.options.promotion,
        { version, feature_set_version: event.feature_set_version, metrics: event.metrics },
        production
          ? {
              version: production.version,
              feature_set_version: production.feature_set_version,
              metrics: production.metrics,
            }
          : null,
        { version: event.production_version, metrics: event.production_metrics },
      );
      this.metrics.promotionDecisions.inc({
        decision: this.options.promotion.policy === 'manual' ? 'manual' : decision.promote ? 'promoted' : 'refused',
      });
      const policy = { ...change, actor: 'policy' };
      const stagingReason = decision.promote ? 'candidate from models.trained.v1' : decision.reason;
      await this.changeStage(
        m,
        event.model_name,
        version,
        'Staging',
        true,
        { ...policy, id: randomUUID() },
        stagingReason,
      );
      if (decision.promote) {
        await this.changeStage(
          m,
          event.model_name,
          version,
          'Production',
          true,
          { ...policy, id: randomUUID() },
          decision.reason,
        );
      }
      return { duplicate: false, version, promoted: decision.promote };
    });
  }

  /** POST /v1/models/{name}/versions/{version}/stage. `changed` false when the version already was in that stage. */
  async setStage(
    name: string,
    version: number,
    stage: ModelStage,
    actor: string,
    reason: string | null,
    archiveExisting: boolean,
  ): Promise<{ changed: boolean; version: VersionView }> {
    const changed = await this.write(name, actor, false, (m, change) =>
      this.changeStage(m, name, version, stage, archiveExisting, change, reason),
    );
    return { changed, version: await this.getVersion(name, version) };
  }

  /** PUT /v1/models/{name}/aliases/{alias}. Setting `champion` promotes the version to Production. */
  async setAlias(
    name: string,
    alias: string,
    version: number,
    actor: string,
    reason: string | null,
  ): Promise<{ changed: boolean; version: VersionView }> {
    const changed = await this.write(name, actor, false, async (m, change) => {
      const target = await this.lockedVersion(m, name, version);
      const current = await this.aliasVersion(m, name, alias);
      if (current === version) return false;
      if (alias === CHAMPION) {
        // champion = the Production version: moving it is a promotion (archiving the previous Production).
        await this.moveStage(m, name, target, 'Production', true, change, reason ?? `alias ${CHAMPION} set`);
      } else {
        await this.upsertAlias(m, name, alias, version, change.at);
        await this.history(m, name, {
          change_id: change.id,
          version,
          change: 'ALIAS_SET',
          alias,
          from_version: current ?? null,
          to_version: version,
          from_stage: target.stage,
          to_stage: target.stage,
          actor: change.actor,
          reason,
          changed_at: change.at,
        });
      }
      await this.emit(m, name, change, {
        version,
        change: 'ALIAS_SET',
        alias,
        from_stage: target.stage,
        to_stage: alias === CHAMPION ? 'Production' : target.stage,
        reason,
      });
      return true;
    });
    return { changed, version: await this.getVersion(name, version) };
  }

  /** DELETE /v1/models/{name}/aliases/{alias}. `champion` follows Production and cannot be removed by hand. */
  async removeAlias(name: string, alias: string, actor: string, reason: string | null): Promise<{ version: number }> {
    if (alias === CHAMPION) {
      throw new ConflictException(
        `alias ${CHAMPION} always names the Production version; move that version out of Production instead`,
      );
    }
    return this.write(name, actor, false, async (m, change) => {
      const version = await this.aliasVersion(m, name, alias);
      if (version === undefined) throw new NotFoundException(`model ${name} has no alias ${alias}`);
      const target = await this.lockedVersion(m, name, version);
      await m.query(`DELETE FROM ${s}.model_aliases WHERE model_name = $1 AND alias = $2`, [name, alias]);
      await this.history(m, name, {
        change_id: change.id,
        version,
        change: 'ALIAS_REMOVED',
        alias,
        from_version: version,
        to_version: null,
        from_stage: target.stage,
        to_stage: target.stage,
        actor: change.actor,
        reason,
        changed_at: change.at,
      });
      await this.emit(m, name, change, {
        version,
        change: 'ALIAS_REMOVED',
        alias,
        from_stage: target.stage,
        to_stage: target.stage,
        reason,
      });
      return { version };
    });
  }

  // ---------------------------------------------------------------------------------------------- reads

  async listModels(): Promise<ModelView[]> {
    const rows = await this.dataSource.query(`${MODEL_SELECT} ORDER BY m.name`);
    return rows.map(toModelView);
  }

  async getModel(name: string): Promise<ModelView> {
    const rows = await this.dataSource.query(`${MODEL_SELECT} WHERE m.name = $1`, [name]);
    if (rows.length === 0) throw new NotFoundException(`no model ${name}`);
    return toModelView(rows[0]);
  }

  async listVersions(name: string): Promise<VersionView[]> {
    await this.getModel(name);
    const rows: VersionRow[] = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS} FROM ${s}.model_versions v JOIN ${s}.model_artifacts a ON a.sha256 = v.artifact_sha256
       WHERE v.model_name = $1 ORDER BY v.version`,
      [name],
    );
    const aliases = await this.aliasesByVersion(this.dataSource.manager, name);
    return rows.map((row) => toVersionView(row, aliases.get(row.version) ?? []));
  }

  async getVersion(name: string, version: number): Promise<VersionView> {
    const rows: VersionRow[] = await this.dataSource.query(
      `SELECT ${VERSION_COLUMNS}, v.baseline FROM ${s}.model_versions v
       JOIN ${s}.model_artifacts a ON a.sha256 = v.artifact_sha256 WHERE v.model_name = $1 AND v.version = $2`,
      [name, version],
    );
    if (rows.length === 0) throw new NotFoundException(`model ${name} has no version ${version}`);
    const aliases = await this.aliasesByVersion(this.dataSource.manager, name);
    return toVersionView(rows[0], aliases.get(version) ?? []);
  }

  async getAlias(name: string, alias: string): Promise<VersionView> {
    const version = await this.aliasVersion(this.dataSource.manager, name, alias);
    if (version === undefined) throw new NotFoundException(`model ${name} has no alias ${alias}`);
    return this.getVersion(name, version);
  }

  async getHistory(name: string): Promise<HistoryEntry[]> {
    await this.getModel(name);
    const rows = await this.dataSource.query(
      `SELECT change_id, version, change, alias, from_stage, to_stage, from_version, to_version, actor, reason, changed_at
       FROM ${s}.model_history WHERE model_name = $1 ORDER BY id`,
      [name],
    );
    return rows.map((r: HistoryEntry & { changed_at: string }) => ({ ...r, changed_at: Number(r.changed_at) }));
  }

  async compare(name: string, a: number, b: number) {
    const [va, vb] = [await this.getVersion(name, a), await this.getVersion(name, b)];
    const keys = [...new Set([...Object.keys(va.metrics), ...Object.keys(vb.metrics)])].sort();
    const metrics: Record<string, { a: number | null; b: number | null; delta: number | null }> = {};
    for (const key of keys) {
      const x = va.metrics[key] ?? null;
      const y = vb.metrics[key] ?? null;
      metrics[key] = { a: x, b: y, delta: x === null || y === null ? null : y - x };
    }
    const side = (v: VersionView) => ({
      version: v.version,
      stage: v.stage,
      feature_set_version: v.feature_set_version,
      artifact_sha256: v.artifact_sha256,
      metrics: v.metrics,
    });
    return {
      model_name: name,
      a: side(va),
      b: side(vb),
      /** delta = b - a */
      metrics,
      same_feature_set: va.feature_set_version === vb.feature_set_version,
      same_features: JSON.stringify(va.feature_names) === JSON.stringify(vb.feature_names),
    };
  }

  /** For the pending gauge. */
  async outboxBacklog(): Promise<{ pending: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS pending,
              COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS age
       FROM ${s}.model_outbox WHERE sent_at IS NULL`,
    );
    return { pending: row.pending, oldestAgeSeconds: row.age };
  }

  // ---------------------------------------------------------------------------------------------- internals

  /** One transaction holding the model's row lock; listeners (the relay) are told after the commit. */
  private async write<T>(
    name: string,
    actor: string,
    create: boolean,
    work: (m: EntityManager, change: Change) => Promise<T>,
  ): Promise<T> {
    const result = await this.dataSource.transaction(async (m) => {
      const at = Date.now();
      if (create) {
        await m.query(
          `INSERT INTO ${s}.registered_models (name, created_at, updated_at) VALUES ($1, $2, $2) ON CONFLICT (name) DO NOTHING`,
          [name, at],
        );
      }
      const locked = await m.query(`SELECT name FROM ${s}.registered_models WHERE name = $1 FOR UPDATE`, [name]);
      if (locked.length === 0) throw new NotFoundException(`no model ${name}`);
      const value = await work(m, { id: randomUUID(), actor, at });
      await m.query(`UPDATE ${s}.registered_models SET updated_at = $2 WHERE name = $1`, [name, at]);
      return value;
    });
    for (const listener of this.commitListeners) listener();
    return result;
  }

  private async insertVersion(
    m: EntityManager,
    name: string,
    request: CreateVersionRequest,
    change: Change,
    reason: string | null = request.description ?? null,
  ): Promise<number> {
    const artifact = await m.query(`SELECT 1 FROM ${s}.model_artifacts WHERE sha256 = $1`, [request.artifact_sha256]);
    if (artifact.length === 0) {
      throw new UnprocessableEntityException(
        `artifact ${request.artifact_sha256} is not stored: PUT ${artifactUri(request.artifact_sha256)} first`,
      );
    }
    if (request.training_window_end < request.training_window_start) {
      throw new UnprocessableEntityException('training_window_end is before training_window_start');
    }
    const [{ next }] = await m.query(
      `SELECT COALESCE(max(version), 0) + 1 AS next FROM ${s}.model_versions WHERE model_name = $1`,
      [name],
    );
    if (request.parent_version != null && request.parent_version >= next) {
      throw new UnprocessableEntityException(`parent_version ${request.parent_version} does not exist`);
    }
    await m.query(
      `INSERT INTO ${s}.model_versions (model_name, version, stage, artifact_sha256, feature_set_version, feature_names,
         metrics, baseline, training_window_start, training_window_end, parent_version, retrain_request_id, run_id,
         description, created_by, created_at, stage_changed_at)
       VALUES ($1, $2, 'None', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)`,
      [
        name,
        next,
        request.artifact_sha256,
        request.feature_set_version,
        JSON.stringify(request.feature_names),
        JSON.stringify(request.metrics),
        JSON.stringify(request.baseline),
        request.training_window_start,
        request.training_window_end,
        request.parent_version ?? null,
        request.retrain_request_id ?? null,
        request.run_id ?? null,
        request.description ?? null,
        change.actor,
        change.at,
      ],
    );
    await this.history(m, name, {
      change_id: change.id,
      version: next,
      change: 'REGISTERED',
      to_stage: 'None',
      actor: change.actor,
      reason,
      changed_at: change.at,
    });
    await this.emit(m, name, change, {
      version: next,
      change: 'REGISTERED',
      from_stage: null,
      to_stage: 'None',
      reason,
    });
    return next;
  }

  /** A stage change and its event; false (and nothing written) when the version is already in that stage. */
  private async changeStage(
    m: EntityManager,
    name: string,
    version: number,
    stage: ModelStage,
    archiveExisting: boolean,
    change: Change,
    reason: string | null,
  ): Promise<boolean> {
    const target = await this.lockedVersion(m, name, version);
    if (target.stage === stage) return false;
    await this.moveStage(m, name, target, stage, archiveExisting, change, reason);
    await this.emit(m, name, change, {
      version,
      change: 'STAGE_CHANGED',
      from_stage: target.stage,
      to_stage: stage,
      reason,
    });
    return true;
  }

  /**
   * Moves `target` to `stage` with the implied changes, all in the history under the same change id: entering
   * Production first moves the previous Production version out (Archived, or Staging when archiveExisting is false)
   * and points `champion` at the new one; leaving Production removes `champion`.
   */
  private async moveStage(
    m: EntityManager,
    name: string,
    target: VersionRow,
    stage: ModelStage,
    archiveExisting: boolean,
    change: Change,
    reason: string | null,
  ): Promise<void> {
    const record = async (version: number, from: ModelStage, to: ModelStage, why: string | null) => {
      await m.query(
        `UPDATE ${s}.model_versions SET stage = $3, stage_changed_at = $4 WHERE model_name = $1 AND version = $2`,
        [name, version, to, change.at],
      );
      await this.history(m, name, {
        change_id: change.id,
        version,
        change: 'STAGE_CHANGED',
        from_stage: from,
        to_stage: to,
        actor: change.actor,
        reason: why,
        changed_at: change.at,
      });
      this.metrics.stageChanges.inc({ to_stage: to, actor: actorKind(change.actor) });
    };
    if (stage === 'Production') {
      const previous = await this.productionRow(m, name);
      if (previous && previous.version !== target.version) {
        const demoted: ModelStage = archiveExisting ? 'Archived' : 'Staging';
        await record(previous.version, 'Production', demoted, `replaced in Production by v${target.version}`);
      }
    }
    if (target.stage !== stage) await record(target.version, target.stage, stage, reason);
    const champion = await this.aliasVersion(m, name, CHAMPION);
    if (stage === 'Production' && champion !== target.version) {
      await this.upsertAlias(m, name, CHAMPION, target.version, change.at);
      await this.history(m, name, {
        change_id: change.id,
        version: target.version,
        change: 'ALIAS_SET',
        alias: CHAMPION,
        from_version: champion ?? null,
        to_version: target.version,
        from_stage: target.stage,
        to_stage: stage,
        actor: change.actor,
        reason: 'champion follows Production',
        changed_at: change.at,
      });
    } else if (stage !== 'Production' && target.stage === 'Production' && champion !== undefined) {
      await m.query(`DELETE FROM ${s}.model_aliases WHERE model_name = $1 AND alias = $2`, [name, CHAMPION]);
      await this.history(m, name, {
        change_id: change.id,
        version: target.version,
        change: 'ALIAS_REMOVED',
        alias: CHAMPION,
        from_version: champion,
        to_version: null,
        from_stage: target.stage,
        to_stage: stage,
        actor: change.actor,
        reason: 'champion follows Production',
        changed_at: change.at,
      });
    }
  }

  /** Writes the lifecycle event (with the model's full state as of now, inside the transaction) to the outbox. */
  private async emit(
    m: EntityManager,
    name: string,
    change: Change,
    what: {
      version: number;
      change: ModelChange;
      alias?: string;
      from_stage: ModelStage | null;
      to_stage: ModelStage | null;
      reason: string | null;
    },
  ): Promise<void> {
    const subject = await this.lockedVersion(m, name, what.version);
    const aliases: Record<string, number> = {};
    for (const row of await m.query(
      `SELECT alias, version FROM ${s}.model_aliases WHERE model_name = $1 ORDER BY alias`,
      [name],
    )) {
      aliases[row.alias] = row.version;
    }
    const production = await this.productionRow(m, name);
    const productionRef: ModelVersionRef | null = production
      ? {
          version: production.version,
          artifact_uri: artifactUri(production.artifact_sha256),
          artifact_sha256: production.artifact_sha256,
          feature_set_version: production.feature_set_version,
        }
      : null;
    const event: ModelLifecycle = {
      change_id: change.id,
      model_name: name,
      version: what.version,
      change: what.change,
      from_stage: what.from_stage,
      to_stage: what.to_stage,
      alias: what.alias ?? null,
      aliases,
      production_version: productionRef?.version ?? null,
      production: productionRef,
      artifact_uri: artifactUri(subject.artifact_sha256),
      artifact_sha256: subject.artifact_sha256,
      feature_set_version: subject.feature_set_version,
      actor: change.actor,
      reason: what.reason,
      changed_at: change.at,
    };
    await m.query(`INSERT INTO ${s}.model_outbox (change_id, model_name, payload) VALUES ($1, $2, $3)`, [
      change.id,
      name,
      JSON.stringify(event),
    ]);
  }

  private async history(m: EntityManager, name: string, e: HistoryInput): Promise<void> {
    await m.query(
      `INSERT INTO ${s}.model_history (change_id, model_name, version, change, alias, from_stage, to_stage,
         from_version, to_version, actor, reason, changed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        e.change_id,
        name,
        e.version,
        e.change,
        e.alias ?? null,
        e.from_stage ?? null,
        e.to_stage ?? null,
        e.from_version ?? null,
        e.to_version ?? null,
        e.actor,
        e.reason ?? null,
        e.changed_at,
      ],
    );
  }

  private async lockedVersion(m: EntityManager, name: string, version: number): Promise<VersionRow> {
    const rows: VersionRow[] = await m.query(
      `SELECT ${VERSION_COLUMNS} FROM ${s}.model_versions v JOIN ${s}.model_artifacts a ON a.sha256 = v.artifact_sha256
       WHERE v.model_name = $1 AND v.version = $2`,
      [name, version],
    );
    if (rows.length === 0) throw new NotFoundException(`model ${name} has no version ${version}`);
    return rows[0];
  }

  private async productionRow(m: EntityManager, name: string): Promise<VersionRow | undefined> {
    const rows: VersionRow[] = await m.query(
      `SELECT ${VERSION_COLUMNS} FROM ${s}.model_versions v JOIN ${s}.model_artifacts a ON a.sha256 = v.artifact_sha256
       WHERE v.model_name = $1 AND v.stage = 'Production'`,
      [name],
    );
    return rows[0];
  }

  private async versionByRunId(m: EntityManager, runId: string): Promise<{ version: number } | undefined> {
    const rows = await m.query(`SELECT version FROM ${s}.model_versions WHERE run_id = $1`, [runId]);
    return rows[0];
  }

  private async aliasVersion(m: EntityManager, name: string, alias: string): Promise<number | undefined> {
    const rows = await m.query(`SELECT version FROM ${s}.model_aliases WHERE model_name = $1 AND alias = $2`, [
      name,
      alias,
    ]);
    return rows[0]?.version;
  }

  private async aliasesByVersion(m: EntityManager, name: string): Promise<Map<number, string[]>> {
    const rows = await m.query(`SELECT alias, version FROM ${s}.model_aliases WHERE model_name = $1 ORDER BY alias`, [
      name,
    ]);
    const byVersion = new Map<number, string[]>();
    for (const row of rows) byVersion.set(row.version, [...(byVersion.get(row.version) ?? []), row.alias]);
    return byVersion;
  }

  private async upsertAlias(m: EntityManager, name: string, alias: string, version: number, at: number): Promise<void> {
    await m.query(
      `INSERT INTO ${s}.model_aliases (model_name, alias, version, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_name, alias) DO UPDATE SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
      [name, alias, version, at],
    );
  }
}

const MODEL_SELECT = `
  SELECT m.name, m.created_at, m.updated_at,
    (SELECT max(version) FROM ${s}.model_versions v WHERE v.model_name = m.name) AS latest_version,
    (SELECT version FROM ${s}.model_versions v WHERE v.model_name = m.name AND v.stage = 'Production') AS production_version,
    (SELECT COALESCE(jsonb_object_agg(alias, version), '{}'::jsonb) FROM ${s}.model_aliases a WHERE a.model_name = m.name) AS aliases
  FROM ${s}.registered_models m`;

function toModelView(row: {
  name: string;
  created_at: string;
  updated_at: string;
  latest_version: number | null;
  production_version: number | null;
  aliases: Record<string, number>;
}): ModelView {
  return {
    name: row.name,
    latest_version: row.latest_version,
    production_version: row.production_version,
    aliases: row.aliases,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

function toVersionView(row: VersionRow, aliases: string[]): VersionView {
  return {
    model_name: row.model_name,
    version: row.version,
    stage: row.stage,
    aliases,
    artifact_uri: artifactUri(row.artifact_sha256),
    artifact_sha256: row.artifact_sha256,
    artifact_size_bytes: Number(row.size_bytes),
    feature_set_version: row.feature_set_version,
    feature_names: row.feature_names,
    metrics: row.metrics,
    ...(row.baseline ? { baseline: row.baseline } : {}),
    training_window_start: Number(row.training_window_start),
    training_window_end: Number(row.training_window_end),
    parent_version: row.parent_version,
    retrain_request_id: row.retrain_request_id,
    run_id: row.run_id,
    description: row.description,
    created_by: row.created_by,
    created_at: Number(row.created_at),
    stage_changed_at: Number(row.stage_changed_at),
  };
}

function actorKind(actor: string): string {
  return actor === 'policy' ? 'policy' : actor === 'registry' ? 'registry' : 'api';
}

/** TypeORM answers UPDATE/DELETE … RETURNING with [rows, count] and SELECT/INSERT with rows. */
function rowsOf(result: unknown): unknown[] {
  if (Array.isArray(result) && Array.isArray(result[0])) return result[0];
  return Array.isArray(result) ? result : [];
}
