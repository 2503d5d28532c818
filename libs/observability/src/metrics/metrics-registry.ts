import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One prom-client registry per process, labelled with the service name so every series in Prometheus
 * says where it came from even behind a shared scrape job. Node runtime metrics are included.
 */
export function createMetricsRegistry(service: string, instance?: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, ...(instance ? { instance_id: instance } : {}) });
  collectDefaultMetrics({ register: registry });
  return registry;
}
