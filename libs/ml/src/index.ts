export { type BackendInfo, type BackendPreference, currentBackend, initBackend } from './backend';
export {
  ArtifactFormatError,
  ArtifactIntegrityError,
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleMetadata,
  type LoadedBundle,
  loadBundle,
  type SerializedBundle,
  serializeBundle,
  sha256Hex,
} from './bundle';
export * from './drift';
export {
  type FeatureSpec,
  FeatureVectorError,
  fitFeatureSpec,
  invalidFeatures,
  standardizeInto,
  toTensor,
  validateFeatureSpec,
  vectorize,
  vectorizeBatch,
  vectorizeInto,
} from './features';
export { logLoss, rocAuc } from './metrics';
export {
  buildFraudModel,
  FRAUD_MODEL_UNITS,
  mulberry32,
  type TrainedModel,
  type TrainingData,
  type TrainOptions,
  trainFraudModel,
} from './model';
export { type LoadedModelVersion, loadModelVersion } from './model-version';
export { type ModelVersionRef, RegistryClient, type RegistryClientOptions, RegistryError } from './registry-client';
export { decide, Scorer, type Thresholds } from './scorer';
export { SYNTHETIC_FEATURES, type SyntheticRow, syntheticFraudData } from './synthetic';
