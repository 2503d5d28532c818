import { databaseEnv, httpEnv, loadConfig, observabilityEnv } from '@flywheel/config';
import { z } from 'zod';

const RegistryEnv = z.object({
  ...httpEnv,
  // 8081 is where Confluent clients look for a schema registry by default.
  HTTP_PORT: httpEnv.HTTP_PORT.default(8081),
  ...databaseEnv,
  ...observabilityEnv,
});

export type RegistryConfig = Readonly<z.infer<typeof RegistryEnv>>;

/** The one place the registry reads its environment; tests pass their own `env` instead of mutating process.env. */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  return loadConfig(RegistryEnv, env);
}
