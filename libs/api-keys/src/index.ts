/**
 * API keys of the collector (`fw_<id>_<secret>`): format and hashing, the api_keys store and its migration, the
 * verifier the collector uses per request, and the create/revoke/list commands shared by the collector's own CLI
 * and `flywheel keys`.
 */
export {
  credentialFromHeaders,
  generateApiKey,
  hashSecret,
  newSalt,
  type ParsedApiKey,
  parseApiKey,
  secretMatches,
} from './api-key-format';
export { API_KEY_MIGRATIONS, type ApiKeyRecord, ApiKeyStore } from './api-key-store';
export { ApiKeyVerifier, type KeyLookup, type Verification } from './api-key-verifier';
export { API_KEYS_USAGE, type CommandOutput, runApiKeysCommand } from './api-keys-command';
export { API_KEY_CACHE_MS_DEFAULT, API_KEYS_SCHEMA } from './api-keys-schema';
