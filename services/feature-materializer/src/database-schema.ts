/** The Postgres schema feature-materializer owns; no other service writes it. */
export const DATABASE_SCHEMA = 'features';
