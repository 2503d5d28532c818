import type { ModelLifecycle } from '@flywheel/contracts';
import type { ModelVersionRef } from './registry.client';

/** Which version a role should run: a full ref, a version to look up in the registry, or none. */
export type Target = { kind: 'ref'; ref: ModelVersionRef } | { kind: 'lookup'; version: number } | { kind: 'none' };

export interface TargetSettings {
  /** Serve this alias's version instead of the Production stage. */
  servingAlias?: string;
  /** Shadow-score with this alias's version. */
  shadowAlias?: string;
}

/**
 * From the newest lifecycle record of a model (it carries the full current state) to what each role
 * should run. The record names an artifact only for its own `version` and for Production; an alias on
 * any other version is resolved through the registry's HTTP API.
 */
export function targetsFrom(event: ModelLifecycle, settings: TargetSettings): { serving: Target; shadow: Target } {
  const serving = settings.servingAlias ? aliasTarget(event, settings.servingAlias) : productionTarget(event);
  const shadow = settings.shadowAlias ? aliasTarget(event, settings.shadowAlias) : ({ kind: 'none' } as const);
  return { serving, shadow };
}

function productionTarget(event: ModelLifecycle): Target {
  if (!event.production) return { kind: 'none' };
  return { kind: 'ref', ref: { model_name: event.model_name, ...event.production } };
}

function aliasTarget(event: ModelLifecycle, alias: string): Target {
  const version = event.aliases[alias];
  if (version === undefined) return { kind: 'none' };
  if (event.version === version) {
    return {
      kind: 'ref',
      ref: {
        model_name: event.model_name,
        version,
        artifact_uri: event.artifact_uri,
        artifact_sha256: event.artifact_sha256,
        feature_set_version: event.feature_set_version,
      },
    };
  }
  if (event.production?.version === version) {
    return { kind: 'ref', ref: { model_name: event.model_name, ...event.production } };
  }
  return { kind: 'lookup', version };
}
