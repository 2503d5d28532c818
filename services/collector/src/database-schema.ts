/** The Postgres schema the collector owns (API keys); no other service reads it. */
export const DATABASE_SCHEMA = 'collector';
