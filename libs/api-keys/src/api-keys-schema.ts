/**
 * The Postgres schema that holds the api_keys table. It is the collector's schema (the collector owns the keys and
 * migrates the table at start-up); the CLI writes to the same table, so the name lives here, in one place.
 */
export const API_KEYS_SCHEMA = 'collector';

/** Default of COLLECTOR_API_KEY_CACHE_MS: how long a replica trusts a looked-up key (the revocation delay). */
export const API_KEY_CACHE_MS_DEFAULT = 5_000;
