import type { ModelLifecycle } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { targetsFrom } from './model-targets';

const event = (over: Partial<ModelLifecycle>): ModelLifecycle => ({
  change_id: 'c1',
  model_name: 'm',
  version: 3,
  change: 'ALIAS_SET',
  from_stage: 'Staging',
  to_stage: 'Staging',
  alias: 'challenger',
  aliases: { challenger: 3, champion: 2 },
  production_version: 2,
  production: { version: 2, artifact_uri: '/v1/artifacts/p', artifact_sha256: 'p', feature_set_version: '3' },
  artifact_uri: '/v1/artifacts/v3',
  artifact_sha256: 'v3',
  feature_set_version: '3',
  actor: 't',
  reason: null,
  changed_at: 0,
  ...over,
});

describe('targetsFrom', () => {
  it('serves Production and shadows nothing by default', () => {
    const t = targetsFrom(event({}), {});
    expect(t.serving).toEqual({ kind: 'ref', ref: expect.objectContaining({ version: 2, artifact_sha256: 'p' }) });
    expect(t.shadow).toEqual({ kind: 'none' });
  });

  it('takes an alias on the event version from the event, on Production from production, else looks it up', () => {
    const t = targetsFrom(event({ aliases: { challenger: 3, champion: 2, old: 1 } }), {
      servingAlias: 'champion',
      shadowAlias: 'challenger',
    });
    expect(t.serving).toEqual({ kind: 'ref', ref: expect.objectContaining({ version: 2, artifact_sha256: 'p' }) });
    expect(t.shadow).toEqual({ kind: 'ref', ref: expect.objectContaining({ version: 3, artifact_sha256: 'v3' }) });
    expect(targetsFrom(event({ aliases: { old: 1 } }), { servingAlias: 'old' }).serving).toEqual({
      kind: 'lookup',
      version: 1,
    });
  });

  it('says none when there is no Production or the alias is unset', () => {
    expect(targetsFrom(event({ production: null, production_version: null }), {}).serving).toEqual({ kind: 'none' });
    expect(targetsFrom(event({}), { shadowAlias: 'nope' }).shadow).toEqual({ kind: 'none' });
  });
});
