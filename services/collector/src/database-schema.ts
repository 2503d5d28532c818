import { API_KEYS_SCHEMA } from '@flywheel/api-keys';

/** The Postgres schema the collector owns (API keys, table and migration in libs/api-keys); no other service reads it. */
export const DATABASE_SCHEMA = API_KEYS_SCHEMA;
