import { inject } from 'vitest';

/** Addresses of what the global setup started (integration tests only). */
export function testEnv() {
  return {
    kafkaBrokers: inject('kafkaBrokers'),
    schemaRegistryUrl: inject('schemaRegistryUrl'),
    databaseUrl: inject('databaseUrl'),
  };
}
