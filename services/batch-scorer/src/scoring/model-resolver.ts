import { type LoadedModelVersion, loadModelVersion, type ModelVersionRef, type RegistryClient } from '@flywheel/ml';

import { ModelUnavailableError } from './errors';

/**
 * Resolves what to score with through the registry's HTTP API (the client stream-inference uses): a
 * version number, or an alias — resolved here, once: a resumed run keeps the version it started with,
 * whatever the alias says now. `expectedSha256`: the artifact a resumed run started with; any other is
 * refused.
 */
export async function resolveModelRef(
  registry: RegistryClient,
  model: string,
  pick: { alias: string } | { version: number },
  expectedSha256?: string,
): Promise<ModelVersionRef> {
  const asked = 'alias' in pick ? `alias ${pick.alias}` : `version ${pick.version}`;
  let ref: ModelVersionRef;
  try {
    ref = 'alias' in pick ? await registry.alias(model, pick.alias) : await registry.version(model, pick.version);
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404) throw new ModelUnavailableError(`model ${model} has no ${asked} in the registry`);
    throw error; // registry unreachable or broken: not the model's fault (exit 1, retry later)
  }
  if (expectedSha256 && ref.artifact_sha256.toLowerCase() !== expectedSha256) {
    throw new ModelUnavailableError(
      `model ${model} v${ref.version} now names artifact ${ref.artifact_sha256}, but the run started with ${expectedSha256}`,
    );
  }
  return ref;
}

/**
 * Loads the version the way stream-inference does (libs/ml loadModelVersion: download, sha256 before a
 * byte is parsed, feature-set check, warm-up on the process's backend).
 */
export async function loadModel(registry: RegistryClient, ref: ModelVersionRef): Promise<LoadedModelVersion> {
  try {
    return await loadModelVersion(registry, ref);
  } catch (error) {
    // A download that never got an answer is the network's fault (exit 1, retry); anything else, the artifact's.
    if (
      error instanceof Error &&
      error.name === 'RegistryError' &&
      (error as { status?: number }).status === undefined
    ) {
      throw error;
    }
    throw new ModelUnavailableError(
      `model ${ref.model_name} v${ref.version} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
