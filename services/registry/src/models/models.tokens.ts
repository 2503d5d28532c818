import type { PromotionSettings } from './promotion-policy';

/** What the model registry takes from RegistryConfig (provided by ModelsModule.register). */
export interface ModelsOptions {
  adminToken?: string;
  readToken?: string;
  readsRequireToken: boolean;
  artifactMaxBytes: number;
  promotion: PromotionSettings;
  /** Whether the outbox relay and the models.trained.v1 consumer run in this process. */
  kafkaEnabled: boolean;
  outboxPollMs: number;
  outboxRelayDelayMs: number;
}

export const MODELS_OPTIONS = Symbol('MODELS_OPTIONS');

/** Where clients download an artifact, relative to REGISTRY_URL (the registry's own base URL). */
export function artifactUri(sha256: string): string {
  return `/v1/artifacts/${sha256}`;
}
