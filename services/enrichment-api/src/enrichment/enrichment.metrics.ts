import { METRICS_REGISTRY } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type CacheKind = 'account' | 'merchant' | 'rate';

/** Enrichment's own metrics; consumer lag, produce latency and DLQ totals come from libs/kafka. */
@Injectable()
export class EnrichmentMetrics {
  readonly eventsIn: Counter<'path'>;
  readonly eventsOut: Counter<'path' | 'account_known' | 'merchant_known'>;
  readonly rejected: Counter<'path' | 'rule'>;
  readonly cacheLookups: Counter<'kind' | 'result'>;
  readonly cacheInvalidations: Counter<'kind' | 'reason'>;
  readonly cacheRefreshed: Counter<'kind'>;
  readonly cacheEntries: Gauge<'kind'>;
  readonly cacheListening: Gauge;
  readonly batchSeconds: Histogram;
  readonly eventLatencySeconds: Histogram;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.eventsIn = new Counter({
      name: 'flywheel_enrichment_api_events_in_total',
      help: 'Raw events taken in, by path (stream = events.raw.v1, online = POST /v1/enrich)',
      labelNames: ['path'],
      registers,
    });
    this.eventsOut = new Counter({
      name: 'flywheel_enrichment_api_events_out_total',
      help: 'Enriched events produced (stream) or returned (online), by whether account and merchant were known',
      labelNames: ['path', 'account_known', 'merchant_known'],
      registers,
    });
    this.rejected = new Counter({
      name: 'flywheel_enrichment_api_events_rejected_total',
      help: 'Events that broke a business rule (stream: dead-lettered to events.raw.v1.dlq), by rule',
      labelNames: ['path', 'rule'],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'flywheel_enrichment_api_cache_lookups_total',
      help: 'Reference lookups per event, by kind and result (hit = answered from the LRU; hit rate = hit / all)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.cacheInvalidations = new Counter({
      name: 'flywheel_enrichment_api_cache_invalidations_total',
      help: 'Cache entries dropped by NOTIFY (reason=notify) or whole caches cleared on listener (re)connects',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.cacheRefreshed = new Counter({
      name: 'flywheel_enrichment_api_cache_refreshed_total',
      help: 'Entries in use reloaded in the background before their TTL ran out (refresh-ahead)',
      labelNames: ['kind'],
      registers,
    });
    this.cacheEntries = new Gauge({
      name: 'flywheel_enrichment_api_cache_entries',
      help: 'Entries in the reference LRU caches',
      labelNames: ['kind'],
      registers,
    });
    this.cacheListening = new Gauge({
      name: 'flywheel_enrichment_api_cache_listening',
      help: '1 while the LISTEN connection is up (the cache is used); 0 = every lookup reads Postgres',
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'flywheel_enrichment_api_batch_duration_seconds',
      help: 'Time to enrich one consumed batch and have its output acknowledged by Kafka',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.eventLatencySeconds = new Histogram({
      name: 'flywheel_enrichment_api_event_latency_seconds',
      help: 'From received_time (collector) to the enriched event being acknowledged',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
  }
}
