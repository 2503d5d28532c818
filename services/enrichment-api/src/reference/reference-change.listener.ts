import { ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import type { Logger } from 'pino';
import type { EnrichmentConfig } from '../config';
import { REFERENCE_CHANGES_CHANNEL } from '../database-schema';
import { ENRICHMENT_CONFIG } from '../tokens';
import { ReferenceCache } from './reference-cache';

/**
 * A dedicated Postgres connection (not from the pool: LISTEN is per session) that turns the trigger's
 * NOTIFYs into cache invalidations. On any error or end it reconnects with backoff; meanwhile the cache
 * is bypassed (see ReferenceCache), so a lost connection costs queries, never stale enrichment.
 */
@Injectable()
export class ReferenceChangeListener implements OnModuleInit, OnApplicationShutdown {
  private client: Client | undefined;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cache: ReferenceCache,
    @Inject(ENRICHMENT_CONFIG) private readonly config: EnrichmentConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    // The first connection is awaited so a healthy start has its cache on; later ones run in the background.
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.config.DATABASE_URL, connectionTimeoutMillis: 5_000 });
    this.client = client;
    let lost = false;
    const onLost = (reason: string) => {
      if (lost) return;
      lost = true;
      this.cache.setListening(false);
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn({ reason }, 'reference change listener lost its connection; cache bypassed until reconnected');
      this.scheduleReconnect();
    };
    client.on('error', (error) => onLost(error.message));
    client.on('end', () => onLost('connection ended'));
    client.on('notification', (message) => {
      if (message.channel !== REFERENCE_CHANGES_CHANNEL || !message.payload) return;
      try {
        const { table, key } = JSON.parse(message.payload) as { table: string; key: string };
        this.cache.invalidate(table, key);
      } catch (error) {
        this.logger.error({ error, payload: message.payload }, 'unreadable reference change notification');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REFERENCE_CHANGES_CHANNEL}`);
      this.attempt = 0;
      this.cache.setListening(true);
      this.logger.info('listening for reference data changes');
    } catch (error) {
      onLost((error as Error).message);
    }
  }

  private scheduleReconnect(): void {
    const delay = Math.min(5_000, 250 * 2 ** this.attempt++);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}
