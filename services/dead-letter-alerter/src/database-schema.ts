/** The Postgres schema the dead-letter-alerter owns; no other service reads it. */
export const DATABASE_SCHEMA = 'alerter';
