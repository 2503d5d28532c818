/** The Postgres schema enrichment-api owns (reference data); no other service reads it. */
export const DATABASE_SCHEMA = 'enrichment';

/** Channel of the NOTIFY sent by the reference tables' triggers (see the migration). */
export const REFERENCE_CHANGES_CHANNEL = 'enrichment_reference_changed';
