import { type FeatureSet, paymentsFraud, withAllowedLateness } from '@flywheel/features';
import type { FeatureMaterializerConfig } from './config';

export const FEATURE_SET = Symbol('FEATURE_SET');
export const MATERIALIZER_CONFIG = Symbol('MATERIALIZER_CONFIG');
export const FEATURE_STORE = Symbol('FEATURE_STORE');

/** The feature set this process computes (the definition file, optionally with another allowed lateness). */
export function featureSetFor(config: Pick<FeatureMaterializerConfig, 'FEATURES_ALLOWED_LATENESS_MS'>): FeatureSet {
  return config.FEATURES_ALLOWED_LATENESS_MS === undefined
    ? paymentsFraud
    : withAllowedLateness(paymentsFraud, config.FEATURES_ALLOWED_LATENESS_MS);
}

/** Where the state lives: one namespace per feature set version unless configured. */
export function namespaceFor(config: Pick<FeatureMaterializerConfig, 'FEATURES_NAMESPACE'>, featureSet: FeatureSet) {
  return config.FEATURES_NAMESPACE ?? featureSet.version;
}
