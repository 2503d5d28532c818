import type { RawEvent } from '@flywheel/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { EnrichmentConfig } from '../config';
import { ReferenceCache } from '../reference/reference-cache';
import { ENRICHMENT_CONFIG } from '../tokens';
import { enrichEvent } from './enricher';
import type { EnrichmentResult, EnrichmentSettings } from './enrichment.model';

/** The one enrichment code path, used by the stream handler and by POST /v1/enrich alike. */
@Injectable()
export class EnrichmentService {
  private readonly settings: EnrichmentSettings;

  constructor(
    private readonly cache: ReferenceCache,
    @Inject(ENRICHMENT_CONFIG) config: EnrichmentConfig,
  ) {
    this.settings = {
      baseCurrency: config.BASE_CURRENCY,
      maxAmountBase: config.MAX_AMOUNT_BASE,
      maxClockSkewMs: config.MAX_CLOCK_SKEW_MS,
    };
  }

  /** Results in input order. Throws RetriableError when reference data cannot be read. */
  async enrichBatch(events: readonly RawEvent[], now = Date.now()): Promise<EnrichmentResult[]> {
    const lookups = await this.cache.lookupBatch(events);
    return events.map((event, i) => enrichEvent(event, lookups[i], this.settings, now));
  }
}
