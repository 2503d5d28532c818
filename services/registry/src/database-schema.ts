/** The Postgres schema the registry service owns; no other service reads it. */
export const DATABASE_SCHEMA = 'registry';
