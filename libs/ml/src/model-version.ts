import { loadBundle } from './bundle';
import type { ModelVersionRef, RegistryClient } from './registry-client';
import { Scorer } from './scorer';

/** A registered model version, downloaded, verified, loaded and warmed up: ready to score. */
export interface LoadedModelVersion {
  name: string;
  version: number;
  /** Lower-case hex sha256 of the artifact that was verified. */
  sha256: string;
  featureSetVersion: string;
  threshold: number;
  reviewThreshold: number | null;
  scorer: Scorer;
}

/**
 * The one way serving code turns a registry reference into a runnable model: download the artifact,
 * verify its sha256 before a byte is parsed (loadBundle), refuse an artifact whose feature set differs
 * from the one the registry recorded, load it on the process's tfjs backend and warm it up. Throws
 * RegistryError (download), ArtifactIntegrityError (sha256), ArtifactFormatError or a plain Error (load).
 */
export async function loadModelVersion(registry: RegistryClient, ref: ModelVersionRef): Promise<LoadedModelVersion> {
  const bytes = await registry.fetchArtifact(ref);
  const bundle = await loadBundle(bytes, ref.artifact_sha256);
  const scorer = Scorer.fromBundle(bundle);
  if (bundle.metadata.feature_set_version !== ref.feature_set_version) {
    scorer.dispose();
    throw new Error(
      `artifact says feature set ${bundle.metadata.feature_set_version}, the registry says ${ref.feature_set_version}`,
    );
  }
  try {
    scorer.warmUp();
  } catch (error) {
    scorer.dispose();
    throw error;
  }
  return {
    name: ref.model_name,
    version: ref.version,
    sha256: ref.artifact_sha256.toLowerCase(),
    featureSetVersion: bundle.metadata.feature_set_version,
    threshold: bundle.metadata.threshold,
    reviewThreshold: bundle.metadata.review_threshold ?? null,
    scorer,
  };
}
