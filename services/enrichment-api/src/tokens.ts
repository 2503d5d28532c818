/** Injection token of the service's parsed EnrichmentConfig. */
export const ENRICHMENT_CONFIG = Symbol('ENRICHMENT_CONFIG');
