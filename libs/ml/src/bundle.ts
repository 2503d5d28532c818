import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { type FeatureSpec, validateFeatureSpec } from './features';

export const BUNDLE_FORMAT = 'flywheel-model-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

/** What a served model needs besides its weights. */
export interface BundleMetadata {
  /** Feature-set version the model was trained on; serving refuses vectors of any other version. */
  feature_set_version: string;
  /** DECLINE when score >= threshold. */
  threshold: number;
  /** REVIEW when review_threshold <= score < threshold; null/absent = no review band. */
  review_threshold?: number | null;
  model_name?: string;
  /** Free-form provenance (seed, training window ...), never read by serving. */
  info?: Record<string, string | number | boolean>;
}

/** The artifact: one self-contained JSON document (topology, weights as base64, features, metadata). */
interface BundleDocument {
  format: typeof BUNDLE_FORMAT;
  format_version: number;
  metadata: BundleMetadata;
  feature_spec: FeatureSpec;
  model: { modelTopology: unknown; weightSpecs: tf.io.WeightsManifestEntry[]; weightData: string };
}

export interface SerializedBundle {
  bytes: Buffer;
  /** Lower-case hex sha256 of `bytes`: the artifact's identity in the registry. */
  sha256: string;
}

export interface LoadedBundle {
  model: tf.LayersModel;
  spec: FeatureSpec;
  metadata: BundleMetadata;
  sha256: string;
}

/** The bytes are not the artifact that was asked for (sha256 differs). Never retry with the same bytes. */
export class ArtifactIntegrityError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`artifact sha256 mismatch: expected ${expected}, got ${actual}`);
    this.name = 'ArtifactIntegrityError';
  }
}

/** The bytes have the right hash but are not a loadable bundle. */
export class ArtifactFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactFormatError';
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Serialises a trained model with its FeatureSpec and metadata into one JSON buffer. The same bytes load
 * on every tfjs backend (tfjs-node, wasm, cpu): weights are plain float32 little-endian, base64-encoded.
 */
export async function serializeBundle(
  model: tf.LayersModel,
  spec: FeatureSpec,
  metadata: BundleMetadata,
): Promise<SerializedBundle> {
  validateFeatureSpec(spec);
  validateMetadata(metadata);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.modelTopology || !artifacts.weightSpecs || !artifacts.weightData) {
    throw new Error('tfjs did not hand over topology, weight specs and weight data');
  }
  const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  const document: BundleDocument = {
    format: BUNDLE_FORMAT,
    format_version: BUNDLE_FORMAT_VERSION,
    metadata: {
      feature_set_version: metadata.feature_set_version,
      threshold: metadata.threshold,
      review_threshold: metadata.review_threshold ?? null,
      ...(metadata.model_name !== undefined ? { model_name: metadata.model_name } : {}),
      ...(metadata.info !== undefined ? { info: metadata.info } : {}),
    },
    feature_spec: { feature_names: spec.feature_names, means: spec.means, stds: spec.stds },
    model: {
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs,
      weightData: Buffer.from(weights).toString('base64'),
    },
  };
  const bytes = Buffer.from(JSON.stringify(document), 'utf8');
  return { bytes, sha256: sha256Hex(bytes) };
}

/**
 * Verifies the sha256 of `bytes` BEFORE parsing anything (untrusted bytes are never interpreted), then
 * rebuilds the model. Throws ArtifactIntegrityError on a hash mismatch, ArtifactFormatError on a bad bundle.
 */
export async function loadBundle(bytes: Uint8Array, expectedSha256: string): Promise<LoadedBundle> {
  const actual = sha256Hex(bytes);
  if (actual !== expectedSha256.toLowerCase()) throw new ArtifactIntegrityError(expectedSha256, actual);
  let document: BundleDocument;
  try {
    document = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new ArtifactFormatError('artifact is not JSON', { cause: error });
  }
  if (document?.format !== BUNDLE_FORMAT || document.format_version !== BUNDLE_FORMAT_VERSION) {
    throw new ArtifactFormatError(
      `artifact is not a ${BUNDLE_FORMAT} v${BUNDLE_FORMAT_VERSION} (format ${String(document?.format)} v${String(document?.format_version)})`,
    );
  }
  try {
    validateFeatureSpec(document.feature_spec);
    validateMetadata(document.metadata);
  } catch (error) {
    throw new ArtifactFormatError(`artifact metadata invalid: ${(error as Error).message}`, { cause: error });
  }
  const weights = Buffer.from(document.model.weightData, 'base64');
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: document.model.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: document.model.weightSpecs,
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
  } catch (error) {
    throw new ArtifactFormatError(`artifact model does not load: ${(error as Error).message}`, { cause: error });
  }
  const inputs = model.inputs[0]?.shape[1];
  if (inputs !== document.feature_spec.feature_names.length) {
    model.dispose();
    throw new ArtifactFormatError(
      `model expects ${inputs} inputs but its feature spec lists ${document.feature_spec.feature_names.length}`,
    );
  }
  return { model, spec: document.feature_spec, metadata: document.metadata, sha256: actual };
}

function validateMetadata(metadata: BundleMetadata): void {
  if (typeof metadata?.feature_set_version !== 'string' || metadata.feature_set_version === '') {
    throw new Error('metadata.feature_set_version is required');
  }
  if (!(metadata.threshold >= 0 && metadata.threshold <= 1)) throw new Error('metadata.threshold must be in [0, 1]');
  const review = metadata.review_threshold;
  if (review !== undefined && review !== null && !(review >= 0 && review <= metadata.threshold)) {
    throw new Error('metadata.review_threshold must be in [0, threshold]');
  }
}
