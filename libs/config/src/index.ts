export { ConfigError } from './config-error';
export {
  databaseEnv,
  envBool,
  envList,
  httpEnv,
  kafkaEnv,
  observabilityEnv,
  schemaRegistryEnv,
} from './env-schemas';
export { loadConfig } from './load-config';
