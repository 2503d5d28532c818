import { inject } from 'vitest';
import type { FaultInfra } from './fault-infra';

/** What the faults global setup started (fault scenario files only). */
export function faultInfra(): FaultInfra {
  return inject('faultInfra');
}
