export { ConfigError } from './config-error';
export { loadConfig } from './load-config';
export {
  databaseEnv,
  envBool,
  envList,
  httpEnv,
  kafkaEnv,
  observabilityEnv,
  schemaRegistryEnv,
} from './env-schemas';
