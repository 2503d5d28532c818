import { METRICS_REGISTRY } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, type Registry } from 'prom-client';

export type RegistrationResult = 'created' | 'existing';
export type LookupKind = 'id' | 'subject_version' | 'subject_schema';

@Injectable()
export class SchemaRegistryMetrics {
  /** `existing` counts idempotent re-registrations: every producer start-up registers its schema again. */
  readonly registrations: Counter<'result'>;
  /** A rise means a producer is being deployed with a schema its consumers cannot read (or the reverse). */
  readonly compatibilityFailures: Counter<'operation'>;
  /** Serdes cache by id, so lookups should flatten after clients warm up; a steady climb means a cache is missing. */
  readonly lookups: Counter<'kind' | 'result'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.registrations = new Counter({
      name: 'flywheel_registry_schema_registrations_total',
      help: 'Schema registrations accepted, by whether a new version was created or an existing one returned',
      labelNames: ['result'],
      registers: [registry],
    });
    this.compatibilityFailures = new Counter({
      name: 'flywheel_registry_schema_compatibility_failures_total',
      help: 'Schemas found incompatible, on registration (rejected with 409) or on an explicit compatibility check',
      labelNames: ['operation'],
      registers: [registry],
    });
    this.lookups = new Counter({
      name: 'flywheel_registry_schema_lookups_total',
      help: 'Schema lookups by id, by subject version and by schema under a subject, by whether they were found',
      labelNames: ['kind', 'result'],
      registers: [registry],
    });
  }

  lookup(kind: LookupKind, found: boolean): void {
    this.lookups.inc({ kind, result: found ? 'found' : 'not_found' });
  }
}
