/** The Postgres schema batch-scorer owns: runs, checkpoints and results. */
export const DATABASE_SCHEMA = 'batch_scoring';
