import { ArtifactIntegrityError, type LoadedModelVersion, loadModelVersion } from '@flywheel/ml';
import type { Logger } from 'pino';
import type { InferenceMetrics, ModelLoadFailureReason } from '../inference.metrics';
import type { ModelVersionRef, RegistryClient } from './registry.client';

export type ModelRole = 'serving' | 'shadow';

/** A loaded, verified, warmed-up model version. Immutable; replaced as a whole on a swap. */
export interface ServingModel extends LoadedModelVersion {
  loadedAt: number;
}

export interface ModelStoreOptions {
  registry: RegistryClient;
  metrics: InferenceMetrics;
  logger: Logger;
  backend: string;
}

/**
 * Holds the model each role runs. A new version is downloaded, verified (sha256 before parsing),
 * loaded and warmed up off to the side; only then is the reference replaced, in one assignment. Scoring
 * a micro-batch reads the reference once and scores synchronously, so a batch is scored by exactly one
 * version and a swap always falls between batches. A version that fails any step is refused (error log,
 * load-failure metric) and the current one keeps serving.
 */
export class ModelStore {
  private readonly current: Record<ModelRole, ServingModel | undefined> = { serving: undefined, shadow: undefined };
  /** Newest sha256 each role was asked to run: a slow load that has been overtaken is discarded. */
  private readonly wanted: Record<ModelRole, string | undefined> = { serving: undefined, shadow: undefined };
  private readonly queue: Record<ModelRole, Promise<void>> = { serving: Promise.resolve(), shadow: Promise.resolve() };
  private readonly servingListeners: Array<(model: ServingModel) => void> = [];

  constructor(private readonly options: ModelStoreOptions) {}

  get serving(): ServingModel | undefined {
    return this.current.serving;
  }

  get shadow(): ServingModel | undefined {
    return this.current.shadow;
  }

  /** Resolves once a serving model is in place (immediately when one already is). */
  whenServing(): Promise<ServingModel> {
    const model = this.current.serving;
    if (model) return Promise.resolve(model);
    return new Promise((resolve) => this.servingListeners.push(resolve));
  }

  /**
   * Asks `role` to run `ref` (null: run nothing; only honoured for shadow — a serving model is never
   * dropped for lack of a successor). Loads are serialised per role; the returned promise settles when
   * this request has been applied or refused.
   */
  request(role: ModelRole, ref: ModelVersionRef | null): Promise<void> {
    const sha = ref?.artifact_sha256.toLowerCase();
    if (sha === this.wanted[role] && (sha === undefined || this.current[role]?.sha256 === sha)) return this.queue[role];
    this.wanted[role] = sha;
    const next = this.queue[role].then(() => this.apply(role, ref));
    this.queue[role] = next.catch(() => undefined);
    return this.queue[role];
  }

  /** Counts a version that could not even be resolved (registry lookup failed) as a load failure. */
  refuse(role: ModelRole, model: string, version: number, reason: ModelLoadFailureReason, error: unknown): void {
    this.options.metrics.loadFailures.inc({ model, reason });
    this.options.logger.error(
      { error, 'model.name': model, 'model.version': version, role, reason },
      `model version refused; ${this.current[role] ? `version ${this.current[role]?.version} keeps running` : 'nothing to run yet'}`,
    );
  }

  dispose(): void {
    for (const role of ['serving', 'shadow'] as const) {
      this.current[role]?.scorer.dispose();
      this.current[role] = undefined;
    }
  }

  private async apply(role: ModelRole, ref: ModelVersionRef | null): Promise<void> {
    const { logger } = this.options;
    if (!ref) {
      if (role === 'shadow' && this.current.shadow) {
        const old = this.current.shadow;
        this.current.shadow = undefined;
        this.retire(role, old);
        logger.info({ 'model.version': old.version }, 'shadow model removed');
      } else if (role === 'serving' && this.current.serving) {
        logger.warn(
          { 'model.version': this.current.serving.version },
          'no version to serve any more; keeping the current one rather than stopping',
        );
      }
      return;
    }
    const sha = ref.artifact_sha256.toLowerCase();
    if (this.current[role]?.sha256 === sha) return;
    if (this.wanted[role] !== sha) return; // overtaken by a newer request before we started
    const started = Date.now();
    let loaded: ServingModel;
    try {
      loaded = await this.load(ref);
    } catch (error) {
      this.refuse(role, ref.model_name, ref.version, reasonOf(error), error);
      return;
    }
    if (this.wanted[role] !== sha) {
      loaded.scorer.dispose(); // a newer version was requested meanwhile
      return;
    }
    const old = this.current[role];
    this.current[role] = loaded; // the swap: the next batch reads this reference
    this.options.metrics.swaps.inc({ model: loaded.name, role });
    this.options.metrics.modelInfo.set(
      { model: loaded.name, version: String(loaded.version), backend: this.options.backend, role },
      1,
    );
    if (old) this.retire(role, old);
    logger.info(
      {
        'model.name': loaded.name,
        'model.version': loaded.version,
        'model.previous_version': old?.version,
        'model.sha256': sha,
        'model.feature_set_version': loaded.featureSetVersion,
        role,
        backend: this.options.backend,
        'event.duration': (Date.now() - started) * 1e6,
      },
      `model version ${loaded.version} now ${role === 'serving' ? 'serving' : 'shadow scoring'}`,
    );
    if (role === 'serving') for (const listener of this.servingListeners.splice(0)) listener(loaded);
  }

  private async load(ref: ModelVersionRef): Promise<ServingModel> {
    return { ...(await loadModelVersion(this.options.registry, ref)), loadedAt: Date.now() };
  }

  private retire(role: ModelRole, old: ServingModel): void {
    this.options.metrics.modelInfo.remove({
      model: old.name,
      version: String(old.version),
      backend: this.options.backend,
      role,
    });
    // Safe right away: scoring is synchronous, so no batch can be inside the old model's predict now.
    old.scorer.dispose();
  }
}

function reasonOf(error: unknown): ModelLoadFailureReason {
  if (error instanceof ArtifactIntegrityError) return 'sha256-mismatch';
  const name = error instanceof Error ? error.name : '';
  if (name === 'RegistryError') return 'download';
  if (name === 'ArtifactFormatError') return 'format';
  return 'load';
}
